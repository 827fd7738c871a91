# Series 3 as one story: every step starts from the previous step's state (tutorials/*/story.h).
# Every step runs with the series' sizes (tutorials/3_data_parallel/story.h) and must say what it
# starts from, with those sizes, right at the top; the steps that change a setting (3: batch and
# replicas; 5: the uneven split; 6: back again) must announce it, the others must announce
# nothing; and two steps that continue the same state on the same batch must print the same loss.
set(T3S $<TARGET_FILE_DIR:tutorial_3_step1_import>)
# The series' sizes as every start line prints them.
set(T3_DATA "data \\(1024 training \\+ 256 held-out images, seed 0\\)")
set(T3_WRAPPED "step 2's CNN \\(seed 0\\) and ${T3_DATA} in 2 replicas, batch 256")

pb_smoke_test(story_tutorial_3_step2 COMMAND ${T3S}/tutorial_3_step2_define_model
  EXPECT "^starting from step 1: [^\n]*the series' CNN \\(seed 0\\) and ${T3_DATA}\n\n== Step 2a"
         "32 images -> logits \\[32, 10\\]")
pb_smoke_test(story_tutorial_3_step3 COMMAND ${T3S}/tutorial_3_step3_wrap_model
  EXPECT "^starting from step 2: its CNN \\(seed 0\\) and ${T3_DATA}\n"
         "\nchanged from step 2: batch 32 -> 256: 8x the source's 32[^\n]*\n"
         "\nchanged from step 2: replicas 1 -> 2: the fewest that split the batch\n\n== Step 3a"
         "each of the 2 replicas on [a-z:0-9]+ holds all" "split into 128 128")
pb_smoke_test(story_tutorial_3_step4 COMMAND ${T3S}/tutorial_3_step4_move_to_device
  EXPECT "^starting from step 3: ${T3_WRAPPED} \\(step 3's wrapping\\)\n\n== Step 4a"
         "replicas on: [a-z:0-9]+ [a-z:0-9]+\n" "the batch of 256 stays on cpu")
pb_smoke_test(story_tutorial_3_step5 COMMAND ${T3S}/tutorial_3_step5_forward_backward
  EXPECT "^starting from step 4: ${T3_WRAPPED} on the device step 4 picked\n"
         "\nchanged from step 4: batch 256 -> 7: 7 samples over 3 replicas split unevenly \\(3, 2, 2\\)[^\n]*\n"
         "\nchanged from step 4: replicas 2 -> 3: [^\n]*\n\n== Step 5a"
         "slices: 3 2 2\n" "gradients equal to single-device training on the whole batch: yes")
pb_smoke_test(story_tutorial_3_step6 COMMAND ${T3S}/tutorial_3_step6_upstream_cost
  EXPECT "^starting from step 5: ${T3_WRAPPED}, whose gradients step 5 checked\n"
         "\nchanged from step 5: batch 7 -> 256: back to the series' setting[^\n]*\n"
         "\nchanged from step 5: replicas 3 -> 2: back to the series' setting[^\n]*\n\n== Step 6a"
         "training steps, 2 replicas on [a-z:0-9]+, batch 256 ==")
pb_smoke_test(story_tutorial_3_step7 COMMAND ${T3S}/tutorial_3_step7_train
  EXPECT "^starting from step 6: ${T3_WRAPPED}, persistent as step 6 measured; now every training image, 3 epochs\n\n== Step 7a"
         "cnn, 2 replicas on [a-z:0-9]+, batch 256, 1024 samples\n" "epoch 3: mean loss" "on 256 samples never trained on")
# A size set on the command line is announced too, against the series' value.
pb_smoke_test(story_tutorial_3_command_line_change COMMAND ${T3S}/tutorial_3_step4_move_to_device --device cpu --replicas 3
  EXPECT "^starting from step 3: [^\n]*\nchanged from step 3: replicas 2 -> 3: set on the command line \\(the series has 2 here\\)\n"
         "replicas on: cpu cpu cpu\n")

# The state itself carries over, not only the words: step 3 on step 2's batch of 32 with one
# replica gives step 2's loss, and step 4 gives step 3's (same CNN, same batch of 256, 2 replicas).
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/tutorial_3_same_loss.cmake [=[
# Runs A and B (arguments separated by @@) and fails unless the first group of regex RA in A's
# output equals the first group of RB in B's.
foreach(side A B)
  string(REPLACE "@@" ";" command "${${side}}")
  execute_process(COMMAND ${command} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "${R${side}}")
    message(FATAL_ERROR "${${side}}: exit code ${rc}, or no match for '${R${side}}'\n--- output ---\n${out}${err}")
  endif()
  set(value_${side} "${CMAKE_MATCH_1}")
endforeach()
if(NOT value_A STREQUAL value_B)
  message(FATAL_ERROR "not the same state: ${value_A} (${A}) against ${value_B} (${B})")
endif()
message(STATUS "ok: both print ${value_A}")
]=])
function(tutorial_3_same_loss name a ra b rb)
  add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} "-DA=${a}" "-DRA=${ra}" "-DB=${b}" "-DRB=${rb}"
                                -P ${CMAKE_CURRENT_BINARY_DIR}/tutorial_3_same_loss.cmake)
  set_tests_properties(${name} PROPERTIES LABELS "smoke" TIMEOUT 300)
endfunction()
tutorial_3_same_loss(story_tutorial_3_step3_continues_step2
  "${T3S}/tutorial_3_step2_define_model" "32 images -> logits \\[32, 10\\], loss ([0-9.]+)"
  "${T3S}/tutorial_3_step3_wrap_model@@--device@@cpu@@--batch@@32@@--replicas@@1" "one step: loss ([0-9.]+)")
tutorial_3_same_loss(story_tutorial_3_step4_continues_step3
  "${T3S}/tutorial_3_step3_wrap_model@@--device@@cpu" "one step: loss ([0-9.]+)"
  "${T3S}/tutorial_3_step4_move_to_device@@--device@@cpu" "one step ran: loss ([0-9.]+)")
