# Tests of signals and output files: launchers forward signals, ranks die with their launcher, an
# interrupted run leaves the previous report untouched (tests/check_signals.sh, one case each).
foreach(case IN ITEMS launcher_forwards_sigterm launcher_forwards_sigint ranks_die_with_killed_launcher
                      peer_interrupted_sigint peer_interrupted_sigterm out_immutable)
  add_test(NAME signal_${case} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_signals.sh ${case} ${PROJECT_BINARY_DIR})
  set_tests_properties(signal_${case} PROPERTIES LABELS "smoke" TIMEOUT 180 RESOURCE_LOCK cpu_heavy)
endforeach()

# RANK wins over --nproc, and says so in one line.
pb_smoke_test(ddp_rank_in_environment_wins_over_nproc
  COMMAND ${CMAKE_COMMAND} -E env RANK=1 WORLD_SIZE=2 MASTER_PORT=9 ${DDP} --nproc 2 --timeout 2 RC 2
  EXPECT "^ddp_check: note: RANK=1 is set in the environment, so this process runs as that rank and --nproc 2 is ignored \\(unset RANK to start 2 local ranks\\)\nddp_check: error: cannot rendezvous")

# Google Benchmark's flags: checked before the run, one line, exit 2, nothing written; a listing
# when one is asked for.
set(B1 $<TARGET_FILE:bench_cpu_training>)
pb_smoke_test(bench_flag_repetitions_negative COMMAND ${B1} --quick --benchmark_repetitions=-3 --out ${OUT}/flag.json RC 2
  NO_FILE ${OUT}/flag.json
  EXPECT "^bench_cpu_training: error: --benchmark_repetitions must be between 1 and 1000, got -3\n$")
pb_smoke_test(bench_flag_repetitions_zero COMMAND ${B1} --quick --benchmark_repetitions=0 --out ${OUT}/flag.json RC 2
  NO_FILE ${OUT}/flag.json
  EXPECT "^bench_cpu_training: error: --benchmark_repetitions must be between 1 and 1000, got 0\n$")
pb_smoke_test(bench_flag_min_time_not_a_number COMMAND ${B1} --quick --benchmark_min_time=abc RC 2
  EXPECT "^bench_cpu_training: error: --benchmark_min_time must be a number of seconds between 0 and 3600 \\(e.g. 0.5 or 0.5s\\), got 'abc'\n$")
pb_smoke_test(bench_flag_filter_bad_regex COMMAND ${B1} --quick "--benchmark_filter=(abc" RC 2
  EXPECT "^bench_cpu_training: error: --benchmark_filter is not a valid regular expression: '\\(abc'\n$")
pb_smoke_test(bench_flag_filter_matches_nothing COMMAND ${B1} --quick --benchmark_filter=no_such_benchmark
  --out ${OUT}/flag.json RC 2 NO_FILE ${OUT}/flag.json
  EXPECT "^bench_cpu_training: error: --benchmark_filter='no_such_benchmark' matches no benchmark \\(list them with --benchmark_list_tests\\)\n$")
pb_smoke_test(bench_flag_list_tests COMMAND ${B1} --benchmark_list_tests --out ${OUT}/flag.json
  NO_FILE ${OUT}/flag.json
  EXPECT "^cpu_training/linear/workers:0/threads:1/load_us:0/loader:default/real_time\n")
pb_smoke_test(bench_flag_min_time_seconds_suffix COMMAND ${B1} --quick --no-peer --benchmark_min_time=0.01s
  --benchmark_filter=linear/workers:0/threads:1/load_us:0/loader:default/ EXPECT "== Summary")

# Everything the user asked for was skipped (64 GPUs for one point): exit 2 with the reason, no report.
pb_smoke_test(bench_everything_skipped COMMAND $<TARGET_FILE:bench_ddp> --quick --devices cuda --ranks 64 --models mlp
  --out ${OUT}/skipped.json RC 2 NO_FILE ${OUT}/skipped.json
  EXPECT "(^|\n)bench_ddp: error: nothing ran: every benchmark was skipped \\(skipped: [^\n]*\\)\n$")

# An exception nobody catches ends in one line and exit 1, not libtorch's backtrace and an abort:
# thrown on purpose, and (Debian's libtorch, whose programs load in well under 1 GB of address
# space) an allocation at the allowed maximum of --train-samples that the address space refuses.
pb_add_program(throw_uncaught throw_uncaught.cpp)
target_link_libraries(throw_uncaught PRIVATE pb_common)
pb_smoke_test(uncaught_exception_is_one_line COMMAND $<TARGET_FILE:throw_uncaught> RC 1
  EXPECT "^throw_uncaught: error: thrown on purpose, nobody catches it\n$")
pb_smoke_test(uncaught_exception_in_a_thread_is_one_line COMMAND $<TARGET_FILE:throw_uncaught> --in-thread RC 1
  EXPECT "^throw_uncaught: error: thrown on purpose, nobody catches it\n$")
if(NOT PB_HAVE_CUDA)
  pb_smoke_test(allocation_failure_is_one_line
    COMMAND bash -c "ulimit -v 1000000 && exec \"$@\"" _ $<TARGET_FILE:tutorial_1_step4_train> --train-samples 10000000 --epochs 1
    RC 1 EXPECT "\ntutorial_1_step4_train: error: [^\n]*can't allocate memory[^\n]*\n$")
endif()
