# Tests of pb_compare and pb_report on bad or partial inputs: gates that meet rows they cannot
# evaluate, reports in different time units, output folders that are missing or in the way, and
# a pb_report that fails partway (it must write all of its files or none).

# pb_output_test(<name> COMMAND <cmd>... [EXPECT <regex>...] [RC <code>] [DIR <folder>
#                [SEED <file>...] [SEED_DIRS <name>...]] [ABSENT <path>]): a smoke test
# (expect.cmake) that also checks a folder is left exactly as it was, or a path never made.
function(pb_output_test name)
  cmake_parse_arguments(ARG "" "RC;DIR;ABSENT" "COMMAND;EXPECT;SEED;SEED_DIRS" ${ARGN})
  foreach(list_name IN ITEMS COMMAND EXPECT SEED SEED_DIRS)
    list(JOIN ARG_${list_name} "@@" joined_${list_name})
  endforeach()
  add_test(NAME ${name}
    COMMAND ${CMAKE_COMMAND} "-DCMD=${joined_COMMAND}" "-DEXPECT=${joined_EXPECT}" "-DRC=${ARG_RC}"
            "-DDIR=${ARG_DIR}" "-DSEED=${joined_SEED}" "-DSEED_DIRS=${joined_SEED_DIRS}" "-DNO_FILE=${ARG_ABSENT}"
            -P ${CMAKE_CURRENT_SOURCE_DIR}/expect.cmake)
  set_tests_properties(${name} PROPERTIES LABELS "smoke" TIMEOUT 300)
endfunction()

set(COMPARE $<TARGET_FILE:pb_compare>)
set(REPORT $<TARGET_FILE:pb_report>)

# A gate must not pass on rows it cannot evaluate: the contender's throughput is zero, NaN (as
# Google Benchmark writes it, a bare NaN), absent (its metric becomes real_time), or its run
# failed. Every other row is equal, so only the unevaluated one can fail the gate.
set(why_zero "zero value")
set(why_nan "not a number")
set(why_no_counter "different metrics \\(samples_per_s vs real_time\\)")
set(why_failed "failed: lost or duplicated samples")
foreach(case IN ITEMS zero nan no_counter failed)
  pb_smoke_test(compare_gate_fails_on_${case}
    COMMAND ${COMPARE} ${DATA}/gate_baseline.json ${DATA}/gate_${case}.json --fail-below 0.9 RC 1
    EXPECT "\npb_compare: 1 benchmark\\(s\\) could not be evaluated, first: gate/linear/workers:1/real_time \\(${why_${case}}\\); --allow-unevaluated accepts them\n$")
  pb_smoke_test(compare_gate_allows_${case}
    COMMAND ${COMPARE} ${DATA}/gate_baseline.json ${DATA}/gate_${case}.json --fail-below 0.9 --allow-unevaluated
    EXPECT "OVERALL_GEOMEAN +1.000x")
endforeach()
# A benchmark of the baseline that the contender lacks cannot pass the gate either.
pb_smoke_test(compare_gate_fails_on_missing
  COMMAND ${COMPARE} ${DATA}/gate_baseline.json ${DATA}/gate_missing.json --fail-below 0.9 RC 1
  EXPECT "\npb_compare: 1 benchmark\\(s\\) of the baseline missing from a contender, first: gate/linear/workers:2/real_time \\(not in '[^']*gate_missing.json'\\); --allow-unevaluated accepts them\n$")
pb_smoke_test(compare_gate_allows_missing
  COMMAND ${COMPARE} ${DATA}/gate_baseline.json ${DATA}/gate_missing.json --fail-below 0.9 --allow-unevaluated
  EXPECT "OVERALL_GEOMEAN +1.000x")
pb_smoke_test(compare_allow_unevaluated_without_gate
  COMMAND ${COMPARE} ${DATA}/gate_baseline.json ${DATA}/gate_zero.json --allow-unevaluated RC 2
  EXPECT "^pb_compare: error: --allow-unevaluated only applies with --fail-below\n$")

# Times in different units are compared in one unit (the baseline's): 1 s against 500,000,000 ns
# is a 2x speed-up, not 500M times slower; the rate row shows both times in ms.
pb_smoke_test(compare_time_units
  COMMAND ${COMPARE} ${DATA}/time_unit_s.json ${DATA}/time_unit_ns.json --fail-below 1.5
  EXPECT "unit/sleep/real_time +real_time +1 +0.5 +2.000x +1 s +0.5 s\n"
         "unit/rate/real_time +samples_per_s +100 +200 +2.000x +2 ms +1 ms\n" "OVERALL_GEOMEAN +2.000x")

# The output is checked before any report is read (as the benchmarks check --out before measuring):
# with a malformed report too, the error is about the output.
pb_smoke_test(compare_out_missing_folder
  COMMAND ${COMPARE} ${REF} ${DATA}/malformed.json --out ${OUT}/no/such/dir/compare.json RC 2
  EXPECT "^pb_compare: error: cannot write '[^']*/no/such/dir/compare.json': No such file or directory\n$")
pb_smoke_test(compare_out_is_a_directory
  COMMAND ${COMPARE} ${REF} ${DATA}/malformed.json --out ${OUT} RC 2
  EXPECT "^pb_compare: error: cannot write '[^']*': it is a directory\n$")

# pb_report refuses a missing --out-dir (the benchmarks' wording for their --out), creating nothing.
pb_output_test(report_out_dir_missing
  COMMAND ${REPORT} ${REF} --out-dir ${OUT}/report_missing/dir RC 2
  EXPECT "^pb_report: error: cannot write '[^']*/report_missing/dir/cpu_training.md': No such file or directory\n$"
  ABSENT ${OUT}/report_missing)
# The existing smoke test writes into ${OUT}/report: the folder must now exist beforehand.
add_test(NAME report_out_dir_setup COMMAND ${CMAKE_COMMAND} -E make_directory ${OUT}/report)
set_tests_properties(report_out_dir_setup PROPERTIES LABELS "smoke" FIXTURES_SETUP pb_report_out_dir)
set_tests_properties(report_writes_markdown_and_charts PROPERTIES FIXTURES_REQUIRED pb_report_out_dir)

# All or nothing, in a folder that already holds the JSON report (as benchmarks/run.sh has it) and
# an older Markdown. A folder where the 8th of 9 charts must go: nothing is written.
pb_output_test(report_chart_path_in_the_way
  COMMAND ${REPORT} ${OUT}/report_in_the_way/cpu_training.json RC 2
  EXPECT "^pb_report: error: cannot write '[^']*/report_in_the_way/cpu_training_threads_linear.svg': it is a directory\n$"
  DIR ${OUT}/report_in_the_way SEED ${REF} ${DATA}/report_old.md|cpu_training.md SEED_DIRS cpu_training_threads_linear.svg)
# A full disk (a 16 KiB file size limit: every chart fits, the Markdown does not) once the
# charts are written: none of them may stay, and the older Markdown stays as it was.
pb_output_test(report_disk_full_after_charts
  COMMAND bash -c "trap '' XFSZ && ulimit -f 16 && exec \"$@\"" pb_report_limited
          ${REPORT} ${OUT}/report_disk_full/cpu_training.json RC 2
  EXPECT "^pb_report: error: cannot write '[^']*/report_disk_full/cpu_training.md': File too large\n$"
  DIR ${OUT}/report_disk_full SEED ${REF} ${DATA}/report_old.md|cpu_training.md)
