# Derived metrics (speed-up, efficiency, scaling efficiency, sync overhead) come from the finished
# run's medians, whatever the filter or order (benchmarks/harness/derive.h).
add_test(NAME derived_from_medians_any_order
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_derived.sh $<TARGET_FILE:bench_data_parallel> ${OUT}/derived)
set_tests_properties(derived_from_medians_any_order PROPERTIES LABELS "smoke" TIMEOUT 300)
# Family 4: a filter that keeps only the overlapped points drops both baselines; the summary says
# which metric is missing and why, once per reason.
pb_smoke_test(derived_ddp_baseline_filtered_out
  COMMAND $<TARGET_FILE:bench_ddp> --quick --no-peer --models mlp --ranks 1,2 --batch-per-rank 8 --allreduce-bytes 8
          --benchmark_filter=sync:overlapped
  EXPECT "\nNot derived:\n"
         "  2 benchmarks: scaling_efficiency: its 1-rank baseline ddp_cpu/mlp/ranks:1/threads:1/sync:none/bucket_kib:[0-9]+ did not run \\(not in the sweep, filtered out, skipped or failed\\); sync_overhead: its no-sync baseline ddp_cpu/mlp/ranks:2/threads:1/sync:none/bucket_kib:[0-9]+ did not run")
