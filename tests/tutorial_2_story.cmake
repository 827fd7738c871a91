# Series 2 as one story: every step starts from the previous step's state (tutorials/*/story.h).
# Every step runs at the series' sizes (tutorials/2_gpu/story.h; all fast on a CPU) and must say,
# right at the top, what it starts from with those sizes; steps 5-7, which need other sizes, must
# announce each change with its reason; and steps 5 and 7 must find step 4's data inside their own
# (the same held-out samples, step 4's training samples first), which they check, not just say.
set(T2S $<TARGET_FILE_DIR:tutorial_2_step1_pick_device>)
# What steps 3-7 hold, as their start lines print it.
set(T2_MODEL "device cpu \\(step 1\\); the 10-5-2 MLP of step 2 \\(67 parameters, seed 0\\) moved there")
set(T2_TRAINED "${T2_MODEL}, then the source's SGD \\(learning rate 0\\.01\\) on it \\(step 3a's order\\)")
set(T2_DATA_INSIDE "step 4's data inside: its 1000 held-out samples the same, its 96 training samples first: yes\n")

pb_smoke_test(story_tutorial_2_step1 COMMAND ${T2S}/tutorial_2_step1_pick_device --device cpu
  EXPECT "^== Step 1a: is CUDA usable\\? ==\n" "--device cpu -> cpu\n")
pb_smoke_test(story_tutorial_2_step2 COMMAND ${T2S}/tutorial_2_step2_define_model --device cpu
  EXPECT "^starting from step 1: device cpu, picked by step 1's rule from the same --device flag \\(auto: [^\n]+\\)\n\n== Step 2a"
         "parameters: 67 \\(10x5 \\+ 5 \\+ 5x2 \\+ 2\\), initial weights from seed 0\n")
pb_smoke_test(story_tutorial_2_step3 COMMAND ${T2S}/tutorial_2_step3_source_errors --device cpu
  EXPECT "^starting from step 2: ${T2_MODEL}\n\n== Step 3a"
         "then the optimizer: parameters and momentum on cpu: yes\n")
pb_smoke_test(story_tutorial_2_step4 COMMAND ${T2S}/tutorial_2_step4_train --device cpu
  EXPECT "^starting from step 3: ${T2_TRAINED}; float inputs and float targets \\(steps 3b, 3c\\)\n\n== Step 4a"
         "\n96 training samples and 1000 held out, seed 0; inputs \\[96, 10\\]"
         "\n100 epochs of batch 1 on cpu: 9600 steps\n")
pb_smoke_test(story_tutorial_2_step5 COMMAND ${T2S}/tutorial_2_step5_transfer_modes --device cpu
  EXPECT "^starting from step 4: ${T2_TRAINED}; step 4's data \\(seed 0, 96 training samples, 1000 held out\\) and its training: batch 1, 100 epochs\n"
         "\nchanged from step 4: training samples 96 -> 262144: a copy of step 4's 96 samples is too small to time[^\n]*\n"
         "changed from step 4: batch 1 -> 16384: [^\n]+\nchanged from step 4: epochs 100 -> 41: [^\n]+\n${T2_DATA_INSIDE}\n== Step 5a"
         "== Step 5b: training epochs, 262144 samples, batch 16384 ==\n"
         "on 1000 samples never trained on, after 41 epochs\n")
pb_smoke_test(story_tutorial_2_step6 COMMAND ${T2S}/tutorial_2_step6_overlap --device cpu
  EXPECT "^starting from step 5: ${T2_TRAINED}; step 4's data at step 5's size \\(262144 training samples, batch 16384, 1000 held out\\); step 5's pinned host memory and non_blocking copies\n"
         "\nchanged from step 5: batch 16384 -> 262144: a copy of 12 MiB [^\n]+\n"
         "changed from step 5: training samples 262144 -> 2097152: [^\n]+\n"
         "changed from step 5: training steps per mode 656 -> 52: [^\n]+\n\n== Step 6: overlap")
pb_smoke_test(story_tutorial_2_step7 COMMAND ${T2S}/tutorial_2_step7_cuda_graph --device cpu
  EXPECT "^starting from step 6: ${T2_TRAINED}; step 4's data at step 6's size \\(8 batches of 262144, 1000 held out\\); step 5's fastest mode, the data resident on the device\n"
         "\nchanged from step 6: batch 262144 -> 256: small batches, where launch overhead dominates[^\n]*\n"
         "changed from step 6: training samples 2097152 -> 4096: [^\n]+\n"
         "changed from step 6: training steps per mode 52 -> 2000: [^\n]+\n${T2_DATA_INSIDE}\n== Step 7a: eager, 2000 steps of batch 256 on cpu"
         "on 1000 samples never trained on\n")
# A size set on the command line is announced as such, against the series' value, and the data
# is still step 4's, at that size.
pb_smoke_test(story_tutorial_2_command_line_change COMMAND ${T2S}/tutorial_2_step7_cuda_graph --device cpu --batch 64 --steps 100
  EXPECT "\nchanged from step 6: batch 262144 -> 64: set on the command line \\(the series has 256 here\\)\n"
         "\nchanged from step 6: training samples 2097152 -> 1024: set on the command line \\(the series has 4096 here\\)\n"
         "${T2_DATA_INSIDE}")
