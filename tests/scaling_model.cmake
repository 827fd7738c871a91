# Tests of pb_scaling_model: on the committed reference DDP report (the lines of each table, the
# CNN's FLOP-weighted backward order, the verdict), on a
# synthetic report whose all-reduce times come from alpha 50 us and B 1 GB/s (exact figures), on a
# model given on the command line (a worked example, and its chart), and on bad input.
target_link_libraries(test_scaling_model PRIVATE pb_scaling)

set(SCALING $<TARGET_FILE:pb_scaling_model>)
set(DDP_REF ${PROJECT_SOURCE_DIR}/results/cpu-2core-debian/ddp_training.json)
set(SCALING_DATA ${CMAKE_CURRENT_SOURCE_DIR}/data/scaling_model_report.json)
# A number of milliseconds and a signed percentage, as the tables print them.
set(MS "[0-9.]+ ms")
set(PCT "[-+][0-9.]+%")

pb_smoke_test(scaling_model_reference COMMAND ${SCALING} ${DDP_REF}
  EXPECT "== All-reduce fit: least squares t\\(n\\) = a \\+ n\\*b over allreduce_gloo/ranks:P/bytes:B"
         "\nranks +sizes +a +alpha +B +R\\^2\n2 +10 +[0-9.]+ us +[0-9.]+ us +[0-9.]+ GB/s +0\\.9[0-9]+\n4 +10 +"
         "\nA bucket's all-reduce at a swept rank count: the sweep's measured times, linear in size between the measured sizes; the fit only outside"
         "\ncnn +[0-9.]+ ms +ddp_cpu/cnn/ranks:1/threads:1/sync:none/bucket_kib:25600/iterations:1/manual_time +8566056 +8\n"
         # fc1's backward (2 x 2 x 4096 x 512) ends after 15.8% of the CNN's; conv2 (16x16 outputs) takes 70.9%.
         "\ncnn +fc2 +20\\.48k +0\\.0% +0\\.0% +20520\ncnn +fc1 +8\\.389M +15\\.8% +15\\.8% +8390656\n"
         "cnn +conv2 +37\\.75M +70\\.9% +86\\.7% +147712\ncnn +conv1 +7\\.078M +13\\.3% +100\\.0% +7168\n"
         "\ncnn +2 +1 +after backward +25600 +${MS} +${MS} +${PCT} +${MS} +${PCT} +sweep ranks:2 +(stable|noisy): cv [0-9.]+% over 2 runs\n"
         "\ncnn +2 +1 +overlapped +4096 +${MS} +${MS} +${PCT} +${MS} +${PCT} +sweep ranks:2 +"
         "\nlinear +4 +1 +overlapped +25600 +${MS} +${MS} +${PCT} +${MS} +${PCT} +sweep ranks:4 +oversubscribed: 4 ranks x 1 thread\\(s\\) on 2 cores\n"
         "\nwithin 15%: 7 of 7 counted points \\(stable, not oversubscribed\\); 18 points in all; largest counted error ${PCT} \\(ddp_cpu/"
         "== Extrapolation: a MODEL, not a measurement ==\nring all-reduce with alpha [0-9.]+ us \\(the ranks:4 fit of this machine's all-reduce\\), buckets of 25600 KiB, overlap on"
         "\ncnn +400 Gbit/s +256 +${MS} +8\\.566 MB +1 +${MS} +${MS} +${MS} +[0-9.]+%\n"
         "\nlinear +10 Gbit/s +8 +${MS} +88 B +1 +${MS} +${MS} +${MS} +0\\.[0-9]+%\n")
pb_smoke_test(scaling_model_markdown COMMAND ${SCALING} ${DDP_REF} --format md --models cnn --link-gbit 25 --ranks 8,64
  EXPECT "^## pb_scaling_model: DDP step = compute"
         "\n### Measured against the model: step time\n\n\\| model \\| ranks \\| threads \\| sync \\| bucket_kib \\| measured \\|"
         "\n\\| cnn \\| 4 \\| 1 \\| after backward \\| 25600 \\| ${MS} \\| ${MS} \\| ${PCT} \\| ${MS} \\| ${PCT} \\| sweep ranks:4 \\| oversubscribed"
         "\n\\| cnn \\| 25 Gbit/s \\| 64 \\| ${MS} \\| 8\\.566 MB \\| 1 \\| ${MS} \\| ${MS} \\| ${MS} \\| [0-9.]+% \\|\n$")
# Exact figures: B and alpha recovered from the synthetic sweep; 0.05 ms compute + 2 x 50 us +
# 88 B / (1 GB/s) = 0.150088 ms against 0.15 measured (88 B is below the swept sizes: the fit); 3 ranks
# use the 4-rank fit (a tie), through the ring on its link.
pb_smoke_test(scaling_model_synthetic COMMAND ${SCALING} ${SCALING_DATA} --models linear --link-gbit 10 --ranks 2
  EXPECT "\n2 +3 +100\\.0 us +50\\.0 us +1 GB/s +1\\.00000\n4 +3 +300\\.0 us +50\\.0 us +1 GB/s +1\\.00000\n"
         "\nlinear +0\\.05 ms +ddp_cpu/linear/ranks:1/threads:1/sync:none/bucket_kib:25600/iterations:1/manual_time +88 +2\n"
         "\nlinear +2 +1 +after backward +25600 +0\\.15 ms +0\\.1501 ms +\\+0\\.1% +0\\.1601 ms +\\+6\\.7% +sweep ranks:2 +one run \\(spread unknown\\)\n"
         "\nlinear +3 +1 +overlapped +25600 +0\\.5 ms +0\\.2501 ms +-50\\.0% +- +- +fit ranks:4 +one run \\(spread unknown\\)\n"
         "\nwithin 15%: 1 of 2 counted points \\(stable, not oversubscribed\\); 2 points in all; largest counted error -50\\.0% \\(ddp_cpu/linear/ranks:3/"
         "alpha 50\\.0 us \\(the ranks:4 fit"
         "\nlinear +10 Gbit/s +2 +0\\.05 ms +88 B +1 +0\\.1501 ms +0\\.1001 ms +0\\.1001 ms +33\\.3%\n")
# The worked example of docs/4_ddp.md: 30 ms, 25M fp32 parameters (100 MB, four buckets), 100 Gbit/s,
# 10 us: on 8 ranks each bucket's all-reduce ends before the next is ready; the last one shows.
pb_smoke_test(scaling_model_custom
  COMMAND ${SCALING} --step-ms 30 --params-m 25 --link-gbit 100 --ranks 1,8 --alpha-us 10 --svg ${OUT}/scaling_model.svg
  EXPECT "\ncustom +100 Gbit/s +1 +30 ms +100 MB +4 +30 ms +0 ms +0 ms +100\\.0%\n"
         "\ncustom +100 Gbit/s +8 +30 ms +100 MB +4 +33\\.13 ms +14\\.56 ms +3\\.13 ms +90\\.6%\n"
         "alpha 10\\.0 us \\(--alpha-us\\)" "\nwrote [^\n]*/scaling_model\\.svg \\(1 series\\)\n$")
set_tests_properties(scaling_model_custom PROPERTIES FIXTURES_SETUP scaling_model_svg)
pb_smoke_test(scaling_model_svg_written COMMAND ${CMAKE_COMMAND} -E cat ${OUT}/scaling_model.svg
  EXPECT "^<\\?xml" "DDP scaling efficiency: a model, not a measurement"
         "<polyline class=\"series\" data-name=\"custom, 100 Gbit/s\"" "<polyline class=\"reference\" data-name=\"ideal\"")
set_tests_properties(scaling_model_svg_written PROPERTIES FIXTURES_REQUIRED scaling_model_svg)
pb_smoke_test(scaling_model_no_report_alpha COMMAND ${SCALING} --step-ms 30 --params-m 25 --link-gbit 10 --ranks 2 --no-overlap
  EXPECT "alpha 10\\.0 us \\(a default: no report given\\), buckets of 25600 KiB, overlap off"
         "\ncustom +10 Gbit/s +2 +30 ms +100 MB +4 +110\\.1 ms +80\\.08 ms +80\\.08 ms +27\\.3%\n")
pb_smoke_test(scaling_model_help COMMAND ${SCALING} --help
  EXPECT "^usage: pb_scaling_model \\[options\\] <report>\\.\\.\\." "--link-gbit <value>" "--step-ms <value>" "--svg <value>")

# Bad input: one line, exit code 2.
set(CUSTOM --step-ms 30 --params-m 25)
pb_smoke_test(scaling_model_link_zero COMMAND ${SCALING} ${CUSTOM} --link-gbit 0 RC 2
  EXPECT "^pb_scaling_model: error: --link-gbit must be greater than 0, got 0\n$")
pb_smoke_test(scaling_model_link_word COMMAND ${SCALING} ${CUSTOM} --link-gbit fast RC 2
  EXPECT "^pb_scaling_model: error: --link-gbit expects a number, got 'fast'\n$")
pb_smoke_test(scaling_model_link_in_list COMMAND ${SCALING} ${CUSTOM} --link-gbit 10,-25 RC 2
  EXPECT "^pb_scaling_model: error: --link-gbit must be greater than 0, got -25\n$")
pb_smoke_test(scaling_model_step_negative COMMAND ${SCALING} --step-ms -5 --params-m 25 RC 2
  EXPECT "^pb_scaling_model: error: --step-ms must be greater than 0, got -5\n$")
pb_smoke_test(scaling_model_params_zero COMMAND ${SCALING} --step-ms 30 --params-m 0 RC 2
  EXPECT "^pb_scaling_model: error: --params-m must be greater than 0, got 0\n$")
pb_smoke_test(scaling_model_ranks_zero COMMAND ${SCALING} ${CUSTOM} --ranks 8,0 RC 2
  EXPECT "^pb_scaling_model: error: --ranks must be between 1 and 1048576, got 0\n$")
pb_smoke_test(scaling_model_alpha_negative COMMAND ${SCALING} ${CUSTOM} --alpha-us -1 RC 2
  EXPECT "^pb_scaling_model: error: --alpha-us must not be negative, got -1\n$")
pb_smoke_test(scaling_model_backward_fraction COMMAND ${SCALING} ${CUSTOM} --backward-fraction 1.5 RC 2
  EXPECT "^pb_scaling_model: error: --backward-fraction must be between 0 and 1, got 1.5\n$")
pb_smoke_test(scaling_model_step_alone COMMAND ${SCALING} --step-ms 30 RC 2
  EXPECT "^pb_scaling_model: error: --step-ms and --params-m go together: the compute time and the size of one model\n$")
pb_smoke_test(scaling_model_nothing COMMAND ${SCALING} RC 2
  EXPECT "^pb_scaling_model: error: nothing to model: give a family-4 report, or --step-ms and --params-m \\(see --help\\)\n$")
pb_smoke_test(scaling_model_no_sweep COMMAND ${SCALING} ${PROJECT_SOURCE_DIR}/results/cpu-2core-debian/cpu_training.json RC 2
  EXPECT "^pb_scaling_model: error: '[^']*cpu_training.json' has no all-reduce sweep \\(allreduce_gloo/ranks:R/bytes:B rows at 2 or more sizes\\): run bench_ddp with --allreduce-bytes\n$")
pb_smoke_test(scaling_model_no_nccl_sweep COMMAND ${SCALING} ${DDP_REF} --device cuda RC 2
  EXPECT "^pb_scaling_model: error: '[^']*ddp_training.json' has no all-reduce sweep \\(allreduce_nccl/ranks:R/bytes:B rows at 2 or more sizes\\): run bench_ddp with --allreduce-bytes\n$")
pb_smoke_test(scaling_model_bad_format COMMAND ${SCALING} ${DDP_REF} --format html RC 2
  EXPECT "^pb_scaling_model: error: --format must be console or md, got 'html'\n$")
pb_smoke_test(scaling_model_bad_model COMMAND ${SCALING} ${DDP_REF} --models cnn,resnet RC 2
  EXPECT "^pb_scaling_model: error: unknown model 'resnet' \\(expected linear, mlp or cnn\\)\n$")
pb_smoke_test(scaling_model_missing_report COMMAND ${SCALING} ${OUT}/no_such_report.json RC 2
  EXPECT "^pb_scaling_model: error: cannot read '[^']*no_such_report.json': No such file or directory\n$")
pb_smoke_test(scaling_model_svg_folder_missing COMMAND ${SCALING} ${CUSTOM} --svg ${OUT}/no/such/dir/c.svg RC 2
  EXPECT "^pb_scaling_model: error: cannot write '[^']*/no/such/dir/c.svg': No such file or directory\n$")
