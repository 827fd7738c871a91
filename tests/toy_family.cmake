# A family written from docs/benchmarks.md's "Adding a family" (tests/toy_family.cpp): the harness
# runs it, writes its report spec into the report, and pb_report draws the chart and the best
# setting from that spec alone; a report without a spec gets the table and one line saying so.
pb_add_benchmark(toy_family toy_family.cpp)

pb_smoke_test(toy_family_report_spec COMMAND $<TARGET_FILE:toy_family> --report-spec
  EXPECT "^{\n" "\"family\": \"toy\"" "\"derived\": \\[\n +\"speedup\"\n +\\]" "\"x\": \"size\"")
pb_smoke_test(toy_family_runs
  COMMAND $<TARGET_FILE:toy_family> --quick --no-peer --out ${OUT}/toy_family.json
  FILE ${OUT}/toy_family.json
  EXPECT "toy/square/size:64/iterations:1000/real_time" "toy/square/size:1024/iterations:1000/real_time")
set_tests_properties(toy_family_runs PROPERTIES FIXTURES_SETUP toy_report)
pb_smoke_test(toy_family_pb_report COMMAND $<TARGET_FILE:pb_report> ${OUT}/toy_family.json
  EXPECT "wrote [^ ]*/toy_family.md and 1 chart\\(s\\)\n" "\\*\\*toy square\\*\\*: best size [0-9]+ at [0-9.]+[kMG]? values_per_s")
set_tests_properties(toy_family_pb_report PROPERTIES FIXTURES_REQUIRED toy_report FIXTURES_SETUP toy_markdown)
# The Markdown names every point, carries the derived metric, links the chart and gives the best
# setting against the smallest size (or says the smallest was best).
pb_smoke_test(toy_family_markdown COMMAND ${CMAKE_COMMAND} -E cat ${OUT}/toy_family.md
  EXPECT "\\| `toy/square/size:64/iterations:1000/real_time` \\| [0-9.]+[kMG]? values_per_s \\| [^\n]*speedup 1 "
         "\\| `toy/square/size:1024/iterations:1000/real_time` \\| [^\n]*speedup [0-9.]+"
         "!\\[toy square: values_per_s vs vector size \\(floats\\)\\]\\(toy_family_toy_size_square.svg\\)"
         "## Best settings on this machine\n\n- \\*\\*toy square\\*\\*: best size [0-9]+ at [^\n]*(x the baseline \\(size 64: |\\(the baseline itself)")
set_tests_properties(toy_family_markdown PROPERTIES FIXTURES_REQUIRED toy_markdown)
pb_smoke_test(toy_family_chart COMMAND ${CMAKE_COMMAND} -E cat ${OUT}/toy_family_toy_size_square.svg
  EXPECT "<svg " ">toy square: values_per_s vs vector size \\(floats\\)<" "</svg>")
set_tests_properties(toy_family_chart PROPERTIES FIXTURES_REQUIRED toy_markdown)

# A report written before specs (or by another tool): the environment and the table, no charts,
# no best settings, and one line on stderr that says why; exit 0.
pb_smoke_test(report_without_spec
  COMMAND $<TARGET_FILE:pb_report> ${CMAKE_CURRENT_SOURCE_DIR}/data/time_unit_ns.json --out-dir ${OUT}
  EXPECT "pb_report: note: '[^']*time_unit_ns.json' carries no pb_report_spec \\(an older or foreign report\\): the environment and the table only, no charts or best settings\n"
         "wrote [^ ]*/time_unit_ns.md and 0 chart\\(s\\)\n")
