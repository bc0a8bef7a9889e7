# 2. train: one job per configuration. The job's only output is done.json, written after the
#    last epoch: a killed or failed job leaves runs/<run>/ (checkpoint.pt, written atomically each
#    epoch) untouched, and rerunning Snakemake resumes from it instead of starting over.


rule train:
    input:
        data=lambda w: f"{DATA}/{RUNS[w.run].dataset}/pipeline-ready.json",
    output:
        done=f"{R}/runs/{{run}}/done.json",
    params:
        config=lambda w: RUNS[w.run].to_dict(),
        run_dir=lambda w: run_dir(w.run),
    threads: SETTINGS["train_threads"]
    resources:
        # 1 on a GPU machine: the default profile (pipeline/profiles/default) caps concurrent GPU
        # jobs; 0 on a CPU-only machine, so CPU jobs are not serialised by a GPU they do not use.
        gpu=TRAIN_GPU,
    log:
        f"{R}/logs/train/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{run}}.tsv"
    script:
        "../scripts/train.py"
