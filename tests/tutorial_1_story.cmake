# Series 1 as one story: every step starts from the previous step's state (tutorials/*/story.h).
# Each step runs at the series' sizes (1,000 training + 200 held-out samples, batches of 32,
# 10 epochs; only step 3's matmul and step 7's sweep are cut short) and must say what it takes
# over, with those sizes; a step that rebuilt its state its own way would print other numbers.
pb_smoke_test(story_tutorial_1_step1 COMMAND ${T1}/tutorial_1_step1_prepare_data
  EXPECT "train 1000 samples, validation 200 samples, closest pair [0-9.]+ \\(disjoint\\)"
         "every later step trains on the 1000 and step 5 validates on the 200 held out")
pb_smoke_test(story_tutorial_1_step2 COMMAND ${T1}/tutorial_1_step2_define_model
  EXPECT "^starting from step 1: its 1000 training \\+ 200 held-out samples \\(seed 0\\), batches of 32\n\n== Step 2a"
         "input \\[32, 10\\] -> logits \\[32, 2\\]")
pb_smoke_test(story_tutorial_1_step3 COMMAND ${T1}/tutorial_1_step3_set_up_threads --matrix 64 --max-threads 2
  EXPECT "^starting from step 2: its Linear\\(10, 2\\) \\(weights from seed 0\\) on step 1's 1000 training samples, batches of 32\n\n== Step 3a"
         "Step 3d: the settings step 4 starts from"
         "carried into step 4: 0 loader workers, 1 intra-op thread \\(series1::kWorkers, series1::kThreads in story.h\\)"
         "step 7 measures which setting is best on this machine")
pb_smoke_test(story_tutorial_1_step4 COMMAND ${T1}/tutorial_1_step4_train
  EXPECT "^starting from step 3: 0 loader workers, 1 intra-op thread, with step 2's Linear\\(10, 2\\) on step 1's 1000 \\+ 200 samples, batches of 32\n\n== Step 4a"
         "1000 samples, batch 32, 0 workers, 1 intra-op thread\\(s\\), cross-entropy, SGD lr 0.01"
         "held-out accuracy: (9[0-9]|100)\\.[0-9]% \\(chance: 50%\\) on 200 samples never trained on")
pb_smoke_test(story_tutorial_1_step5 COMMAND ${T1}/tutorial_1_step5_validate
  EXPECT "^starting from step 4: its Linear\\(10, 2\\) trained 10 epochs \\(SGD lr 0.01, batches of 32, 0 loader workers, 1 intra-op thread\\) on 1000 samples; 200 held out\n\n== Step 5a"
         "held-out split \\(200 samples\\): (9[0-9]|100)\\.[0-9]%")
pb_smoke_test(story_tutorial_1_step6 COMMAND ${T1}/tutorial_1_step6_where_time_goes --runs 1
  EXPECT "^starting from step 5: step 4's run \\(1000 samples, 10 epochs, batches of 32, 0 loader workers, 1 intra-op thread\\) and its validation on the 200 held-out samples\n\n== Step 6a"
         "1000 samples \\(\\+200 held out\\), batch 32, 10 epochs, 0 loader worker\\(s\\), 1 intra-op thread\\(s\\)"
         "\nchanged from step 3: loader workers 0 -> 4: the source's num_workers=4, to see which phases workers move\n")
pb_smoke_test(story_tutorial_1_step7
  COMMAND ${T1}/tutorial_1_step7_measure --workers 0,1 --threads 1 --load-us 20 --min-seconds 0.01
  EXPECT "^starting from step 6: the run it timed phase by phase \\(1000 samples, batches of 32, 0 loader workers, 1 intra-op thread\\)"
         "\nchanged from step 1: loading cost per sample \\(us\\) 0 -> 20: stands in for decoding and augmenting"
         "on 200 samples none of them trained on"
         "== Step 7c: train with what was measured best ==\n(kept from step 3: 0 loader workers, 1 intra-op thread: the fastest in 7a|changed from step 3: loader workers 0 -> 1: the fastest in 7a)\n"
         "trained 10 epochs with [01] workers \\([-a-z]+\\), 1 intra-op thread\\(s\\): held-out accuracy: (9[0-9]|100)\\.[0-9]% \\(chance: 50%\\) on 200 samples"
         "\nwhy: [01] workers \\([-a-z]+\\), 1 intra-op thread\\(s\\): the fastest of the 4 settings in 7a")
# A setting changed on the command line is announced, naming the step that chose it.
pb_smoke_test(story_tutorial_1_announced_change COMMAND ${T1}/tutorial_1_step4_train --workers 2 --epochs 3
  EXPECT "\nchanged from step 3: loader workers 0 -> 2: set on the command line\nchanged from step 4: epochs 10 -> 3: set on the command line\n"
         "1000 samples, batch 32, 2 workers")
# Steps 4, 5 and 6 train the same model: step 5 validates step 4's model itself, and step 6 times
# the same run, so all three print the same held-out accuracy.
pb_smoke_test(story_tutorial_1_same_model
  COMMAND bash -c "a=$(\"$1\" | grep -o 'held-out accuracy: [0-9.]*%' | grep -o '[0-9.]*%') && b=$(\"$2\" | grep -o 'held-out split ([0-9]* samples): [0-9.]*%' | grep -o '[0-9.]*%$') && c=$(\"$3\" --runs 1 | grep -o 'held-out accuracy: [0-9.]*%' | head -n 1 | grep -o '[0-9.]*%') && echo \"step 4: $a, step 5: $b, step 6: $c\" && test \"$a\" = \"$b\" && test \"$a\" = \"$c\" && echo \"the same model: $a\""
          _ ${T1}/tutorial_1_step4_train ${T1}/tutorial_1_step5_validate ${T1}/tutorial_1_step6_where_time_goes
  EXPECT "\nthe same model: (9[0-9]|100)\\.[0-9]%\n")
