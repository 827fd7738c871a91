# Series 4 as one story: every step starts from the previous step's state (tutorials/*/story.h).
# Included from tests/CMakeLists.txt, it declares the tests; run with `cmake -P` (and STEP1, STEP4
# set), it is one of them: step 1 and step 4's rerun of step 1 must print the same loss and checksum.

if(CMAKE_SCRIPT_MODE_FILE)
  execute_process(COMMAND ${STEP1} OUTPUT_VARIABLE one ERROR_VARIABLE one_err RESULT_VARIABLE one_rc)
  execute_process(COMMAND ${STEP4} --nproc 2 OUTPUT_VARIABLE four ERROR_VARIABLE four_err RESULT_VARIABLE four_rc)
  if(NOT one_rc EQUAL 0 OR NOT four_rc EQUAL 0)
    message(FATAL_ERROR "exit codes ${one_rc} and ${four_rc}\n${one}${one_err}\n${four}${four_err}")
  endif()
  string(REGEX MATCH "final loss ([^,]+), [0-9]+ samples/s, parameter checksum ([^\n]+)\n" found "${one}")
  if(NOT found)
    message(FATAL_ERROR "step 1 printed no 'final loss ..., parameter checksum ...' line\n${one}")
  endif()
  set(expected "final loss ${CMAKE_MATCH_1}, parameter checksum ${CMAKE_MATCH_2};")
  foreach(rank 0 1)
    string(REGEX MATCH "\\[rank ${rank}\\] step 1's single process: (final loss [^,]+, parameter checksum [^;]+;)"
           found "${four}")
    if(NOT found OR NOT CMAKE_MATCH_1 STREQUAL expected)
      message(FATAL_ERROR "rank ${rank} of step 4 did not rerun step 1 (step 1: '${expected}', step 4: "
                          "'${CMAKE_MATCH_1}')\n--- step 1 ---\n${one}--- step 4 ---\n${four}")
    endif()
  endforeach()
  message(STATUS "step 1 and both ranks of step 4: ${expected}")
  return()
endif()

set(T4S $<TARGET_FILE_DIR:tutorial_4_step1_single_process>)
# The series' settings (tutorials/4_ddp/story.h), as each step's start line states them.
set(S4_RUN "8 steps of global batch 64 \\(seed 0\\)")

# Step 1 makes the data, the model and the global batches every later step starts from.
pb_smoke_test(story_tutorial_4_step1 COMMAND ${T4S}/tutorial_4_step1_single_process
  EXPECT "^== Step 1a: data ==\ncnn, 512 training samples, 512 held out \\(seed 0\\)\n"
         "global batch 64, 8 steps\nfinal loss [0-9.]+, [0-9]+ samples/s, parameter checksum [-0-9.e]+\n")
# Step 2 shares step 1's initial model: every rank must end with exactly its parameters.
pb_smoke_test(story_tutorial_4_step2 COMMAND ${T4S}/tutorial_4_step2_rendezvous --nproc 2
  EXPECT "\\[rank 0\\] starting from step 1: the cnn as step 1 initialised it \\(seed 0\\), to share across 2 ranks\n"
         "\\[rank 1\\] starting from step 1: the cnn as step 1 initialised it \\(seed 0\\), to share across 2 ranks\n"
         "\\[rank 1\\] rank 1 made its own cnn \\(checksum [-0-9.e]+\\), took rank 0's [0-9]+ parameters \\(checksum [-0-9.e]+\\): step 1's initial model: yes\n")
# Step 3 deals step 1's 512 samples out: every rank's part of a step lies in step 1's global batch.
pb_smoke_test(story_tutorial_4_step3 COMMAND ${T4S}/tutorial_4_step3_shard_data --nproc 2
  EXPECT "\\[rank 1\\] starting from step 2: 2 ranks connected; step 1's 512 samples in 8 global batches of 64 \\(seed 0\\), to deal out\n"
         "\\[rank 1\\] samples per step: 32 32 32 32 32 32 32 32\n" "\\[rank 0\\] every one of 512 samples used exactly once: yes\n"
         "\\[rank 0\\] rank 0's samples of each step are in step 1's global batch of that step: yes\n"
         "\\[rank 1\\] rank 1's samples of each step are in step 1's global batch of that step: yes\n")
# A tiny example is an announced change, not a silent one.
pb_smoke_test(story_tutorial_4_step3_changed COMMAND ${T4S}/tutorial_4_step3_shard_data --nproc 3 --samples 10 --global-batch 4
  EXPECT "\\[rank 2\\] starting from step 2: 3 ranks connected; step 1's 10 samples in 3 global batches of 4 \\(seed 0\\), to deal out\n"
         "\\[rank 2\\] changed from step 1: samples 512 -> 10: --samples on the command line\n"
         "\\[rank 2\\] changed from step 1: global batch 64 -> 4: --global-batch on the command line\n"
         "\\[rank 2\\] samples per step: 1 1 0\n")
# Step 4 is step 1's training on step 3's shards over step 2's connection, checked against step 1.
pb_smoke_test(story_tutorial_4_step4 COMMAND ${T4S}/tutorial_4_step4_train_ddp --nproc 2
  EXPECT "\\[rank 0\\] starting from step 3: step 1's cnn, 512 samples \\(\\+512 held out\\), ${S4_RUN}, dealt out as in step 3 to 2 ranks connected as in step 2\n"
         "\\[rank 1\\] starting from step 3: step 1's cnn, 512 samples \\(\\+512 held out\\), ${S4_RUN}, dealt out as in step 3 to 2 ranks connected as in step 2\n"
         "\\[rank 0\\] step 1's single process: final loss [0-9.]+, parameter checksum [-0-9.e]+; largest parameter difference [-0-9.e]+ \\(tolerance 1e-05\\): the same\n"
         "\\[rank 1\\] step 1's single process: final loss [0-9.]+, parameter checksum [-0-9.e]+; largest parameter difference [-0-9.e]+ \\(tolerance 1e-05\\): the same\n")
# Fewer steps, announced: step 4 then compares with step 1 run for as many.
pb_smoke_test(story_tutorial_4_step4_changed COMMAND ${T4S}/tutorial_4_step4_train_ddp --nproc 2 --steps 2
  EXPECT "\\[rank 1\\] starting from step 3: step 1's cnn, 512 samples \\(\\+512 held out\\), 2 steps of global batch 64 \\(seed 0\\), dealt out as in step 3 to 2 ranks connected as in step 2\n"
         "\\[rank 1\\] changed from step 1: steps 8 -> 2: --steps on the command line\n"
         "\\[rank 1\\] step 1's single process: [^\n]*; largest parameter difference [-0-9.e]+ \\(tolerance 1e-05\\): the same\n")
# Step 1 as it runs alone, and as step 4 reruns it on every rank: the same loss and parameters.
add_test(NAME story_tutorial_4_step1_rerun
  COMMAND ${CMAKE_COMMAND} -DSTEP1=$<TARGET_FILE:tutorial_4_step1_single_process>
          -DSTEP4=$<TARGET_FILE:tutorial_4_step4_train_ddp> -P ${CMAKE_CURRENT_LIST_FILE})
set_tests_properties(story_tutorial_4_step1_rerun PROPERTIES LABELS "smoke" TIMEOUT 300)
