# The main job's options (benchmarks/run.sh): --help, an unknown option, and its two sweeps, read
# through --dry-run, which installs, builds and measures nothing. Included by tests/CMakeLists.txt
# to declare the tests; run with -P it is the sweep check itself (the part after return()).
if(NOT CMAKE_SCRIPT_MODE_FILE)
  set(pb_run_sh ${PROJECT_SOURCE_DIR}/benchmarks/run.sh)
  # A results folder only these tests name: none of them may create it.
  set(pb_main_job_machine main_job_test)
  set(pb_main_job_env ${CMAKE_COMMAND} -E env PB_MACHINE=${pb_main_job_machine} PB_BUILD_DIR=${CMAKE_BINARY_DIR})
  pb_smoke_test(main_job_help
    COMMAND ${pb_main_job_env} bash ${pb_run_sh} --help
    EXPECT "^The main job" "\n  --full  +today's whole sweep" "\n  --dry-run  +print the sweep"
    NO_FILE ${PROJECT_SOURCE_DIR}/results/${pb_main_job_machine})
  # One line, exit code 2, before any set-up (no "setup:" line, no results folder).
  pb_smoke_test(main_job_unknown_option
    COMMAND ${pb_main_job_env} bash ${pb_run_sh} --fast
    RC 2
    EXPECT "^run.sh: error: unknown option '--fast' \\(expected --full, --dry-run or --help\\)\n$"
    NO_FILE ${PROJECT_SOURCE_DIR}/results/${pb_main_job_machine})
  add_test(NAME main_job_sweeps
    COMMAND ${pb_main_job_env} ${CMAKE_COMMAND} -DRUN_SH=${pb_run_sh} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
            -DMACHINE=${pb_main_job_machine} -P ${CMAKE_CURRENT_LIST_FILE})
  set_tests_properties(main_job_sweeps PROPERTIES LABELS "smoke" TIMEOUT 300)
  # With repetitions Google Benchmark reports each point twice (repetitions, then aggregates): the
  # progress line counts it once, and the last point is "N of N".
  pb_smoke_test(progress_counts_points_once_with_repetitions
    COMMAND $<TARGET_FILE:bench_data_parallel> --quick --no-peer --models linear --benchmark_repetitions=2
            --benchmark_filter=mode:single
    EXPECT "\n   point 1 of 3, [0-9:]+ elapsed" "\n   point 2 of 3, " "\n   point 3 of 3 \\(skipped\\), ")
  return()
endif()

# ---- The sweep check (cmake -P): RUN_SH, SOURCE_DIR, MACHINE; PB_BUILD_DIR in the environment ----
cmake_minimum_required(VERSION 3.25)  # the project's; a script starts with every policy unset
# The most minutes the default sweep may announce: the target is at most 15 minutes of measuring on
# 2 cores, and the estimate is kept below it with room for a slower machine.
set(kMaxDefaultMinutes 12)
# The four families' binaries, each of which both sweeps must run.
set(kBinaries bench_cpu_training bench_gpu_training bench_data_parallel bench_ddp)

# pb_dry_run(<result prefix> [--full]): runs run.sh --dry-run; sets <prefix>_header (its first
# line), <prefix>_minutes (the per-family minutes, summed), and for each binary <prefix>_<binary>
# (its command line) and <prefix>_<binary>_points (the points that command runs, listed by the
# binary itself with --benchmark_list_tests).
function(pb_dry_run prefix)
  execute_process(COMMAND bash ${RUN_SH} ${ARGN} --dry-run
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT err STREQUAL "")
    message(FATAL_ERROR "run.sh ${ARGN} --dry-run: exit code ${rc}\n${out}${err}")
  endif()
  if(out MATCHES "setup:")
    message(FATAL_ERROR "run.sh ${ARGN} --dry-run ran the set-up:\n${out}")
  endif()
  # The first line holds a ';', CMake's list separator: taken apart before the rest is split.
  string(REGEX MATCH "^[^\n]*" header "${out}")
  set(${prefix}_header "${header}" PARENT_SCOPE)
  string(REGEX REPLACE "^[^\n]*\n(.*[^\n])\n*$" "\\1" out "${out}")
  string(REPLACE "\n" ";" lines "${out}")
  set(minutes 0)
  set(seen "")
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "^([a-z_]+) \\(about ([0-9]+) min\\): (.*)$")
      message(FATAL_ERROR "run.sh ${ARGN} --dry-run: not a command line: '${line}'")
    endif()
    set(binary ${CMAKE_MATCH_1})
    math(EXPR minutes "${minutes} + ${CMAKE_MATCH_2}")
    set(command "${CMAKE_MATCH_3}")
    list(APPEND seen ${binary})
    set(${prefix}_${binary} "${command}" PARENT_SCOPE)
    # The same command, asked for its points instead of measuring them (and writing no report).
    separate_arguments(args UNIX_COMMAND "${command}")
    list(FIND args --out out_at)
    if(out_at LESS 1)
      message(FATAL_ERROR "${binary}: no --out in '${command}'")
    endif()
    list(REMOVE_AT args ${out_at})
    list(GET args ${out_at} report)
    if(NOT report MATCHES "^results/${MACHINE}/[a-z_]+\\.json$")
      message(FATAL_ERROR "${binary}: writes '${report}', not into results/${MACHINE}/")
    endif()
    list(REMOVE_AT args ${out_at})
    list(POP_FRONT args program)
    if(NOT IS_ABSOLUTE "${program}")
      set(program "${SOURCE_DIR}/${program}")
    endif()
    execute_process(COMMAND ${program} ${args} --benchmark_list_tests
                    OUTPUT_VARIABLE points ERROR_VARIABLE list_err RESULT_VARIABLE list_rc)
    if(NOT list_rc EQUAL 0 OR points STREQUAL "")
      message(FATAL_ERROR "${binary} rejects run.sh's flags (exit code ${list_rc}): ${command}\n${list_err}")
    endif()
    string(REGEX REPLACE "\n$" "" points "${points}")
    string(REPLACE "\n" ";" points "${points}")
    set(${prefix}_${binary}_points "${points}" PARENT_SCOPE)
  endforeach()
  if(NOT seen STREQUAL "${kBinaries}")
    message(FATAL_ERROR "run.sh ${ARGN} --dry-run runs '${seen}', not the four families '${kBinaries}'")
  endif()
  set(${prefix}_minutes ${minutes} PARENT_SCOPE)
endfunction()

pb_dry_run(default)
pb_dry_run(full --full)

# Up front: which sweep runs, its minutes (the families' sum), and the other sweep's.
if(NOT default_header MATCHES "^The default sweep: about ([0-9]+) minutes of measuring on a 2-core machine; --full \\(the whole sweep\\): about ([0-9]+)\\.$")
  message(FATAL_ERROR "the default run does not say up front what it runs: '${default_header}'")
endif()
if(NOT CMAKE_MATCH_1 EQUAL default_minutes OR NOT CMAKE_MATCH_2 EQUAL full_minutes)
  message(FATAL_ERROR "'${default_header}' against the families' minutes: ${default_minutes} and ${full_minutes}")
endif()
if(default_minutes GREATER kMaxDefaultMinutes OR NOT full_minutes GREATER default_minutes)
  message(FATAL_ERROR "default sweep ${default_minutes} min (at most ${kMaxDefaultMinutes}), --full ${full_minutes} min")
endif()
if(NOT full_header MATCHES "^The whole sweep \\(--full\\): about ${full_minutes} minutes of measuring on a 2-core machine; the default: about ${default_minutes}\\.$")
  message(FATAL_ERROR "the --full run does not say up front what it runs: '${full_header}'")
endif()

# Every default point is a --full point under the same name (so pb_compare matches the two), and
# the default narrows the long families' sweeps: 1 and 3, and 4 where 4 ranks oversubscribe the
# cores (run.sh keeps them from 4 cores on).
set(expect_narrowed bench_cpu_training bench_data_parallel)
execute_process(COMMAND nproc OUTPUT_VARIABLE cores OUTPUT_STRIP_TRAILING_WHITESPACE)
if(cores LESS 4)
  list(APPEND expect_narrowed bench_ddp)
endif()
set(narrowed "")
foreach(binary IN LISTS kBinaries)
  foreach(point IN LISTS default_${binary}_points)
    if(NOT point IN_LIST full_${binary}_points)
      message(FATAL_ERROR "${binary}: default point '${point}' is not in the --full sweep")
    endif()
  endforeach()
  list(LENGTH default_${binary}_points n_default)
  list(LENGTH full_${binary}_points n_full)
  message(STATUS "${binary}: ${n_default} of ${n_full} points by default")
  if(n_default LESS n_full)
    list(APPEND narrowed ${binary})
  elseif(NOT default_${binary} STREQUAL full_${binary})
    message(FATAL_ERROR "${binary}: different flags, same points:\n  ${default_${binary}}\n  ${full_${binary}}")
  endif()
endforeach()
if(NOT narrowed STREQUAL "${expect_narrowed}")
  message(FATAL_ERROR "the default sweep narrows '${narrowed}', expected '${expect_narrowed}' on ${cores} cores")
endif()
message(STATUS "ok: default ${default_minutes} min, --full ${full_minutes} min")

