# 3-5. Per-run evaluation of a trained model: reconstruction errors and example images (Table I,
#      Figs. 1, 2, 5), latent codes and probes (Table II, Figs. 3, 4), component diversity (the
#      dHSIC ablation) and CIFAR-10 scores (Table III).
#
# No job is made for an archived run without its checkpoint here (LIVE_RUNS, from train.smk),
# nor for archived baselines (LIVE_BASELINES): their committed files are read as they are.


rule reconstruct:
    input:
        done=f"{R}/runs/{{run}}/done.json",
    output:
        errors=f"{R}/eval/{{run}}/reconstruction.json",
        examples=f"{R}/eval/{{run}}/examples.npz",
    wildcard_constraints:
        run=LIVE_RUNS,
    params:
        run_dir=lambda w: run_dir(w.run),
        n=SETTINGS["figure_images"],
    threads: SETTINGS["eval_threads"]
    log:
        f"{R}/logs/reconstruct/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/reconstruct/{{run}}.tsv"
    script:
        "../scripts/reconstruct.py"


rule latents:
    # Posterior means of every component on train and test: large, so they stay in the run folder
    # (ignored by git); the probe and diversity jobs read them.
    input:
        done=f"{R}/runs/{{run}}/done.json",
    output:
        f"{R}/runs/{{run}}/latents.npz",
    wildcard_constraints:
        run=LIVE_RUNS,
    params:
        run_dir=lambda w: run_dir(w.run),
    threads: SETTINGS["eval_threads"]
    log:
        f"{R}/logs/latents/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/latents/{{run}}.tsv"
    script:
        "../scripts/latents.py"


rule latents_2d:
    # A small copy of a 2-D run's test codes for Fig. 3 and the book.
    input:
        f"{R}/runs/{{run}}/latents.npz",
    output:
        f"{R}/eval/{{run}}/latents_2d.npz",
    wildcard_constraints:
        run=LIVE_RUNS,
    params:
        max_points=SETTINGS["scatter_points"],
    log:
        f"{R}/logs/latents_2d/{{run}}.log",
    script:
        "../scripts/latents_2d.py"


rule probe:
    input:
        latents=f"{R}/runs/{{run}}/latents.npz",
    output:
        f"{R}/eval/{{run}}/probes.json",
    wildcard_constraints:
        run=LIVE_RUNS,
    params:
        run_dir=lambda w: run_dir(w.run),
        settings=SETTINGS,
    threads: SETTINGS["eval_threads"]
    log:
        f"{R}/logs/probe/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/probe/{{run}}.tsv"
    script:
        "../scripts/probe.py"


rule baselines:
    # What needs no training of ours, per probed dataset: probes on raw pixels, PCA codes and
    # untrained encoders shaped like the dataset's main mixture; the mean-image SSE.
    input:
        data=lambda w: f"{DATA}/{w.dataset}/{layout.DATA_READY}",
    output:
        f"{R}/baselines/{{dataset}}.json",
    wildcard_constraints:
        dataset=LIVE_BASELINES,
    params:
        config=lambda w: RUNS[BASELINES[w.dataset]].to_dict(),
        settings=SETTINGS,
    threads: SETTINGS["eval_threads"]
    log:
        f"{R}/logs/baselines/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/baselines/{{dataset}}.tsv"
    script:
        "../scripts/baselines.py"


rule diversity:
    input:
        latents=f"{R}/runs/{{run}}/latents.npz",
    output:
        f"{R}/eval/{{run}}/diversity.json",
    wildcard_constraints:
        run=LIVE_RUNS,
    params:
        run_dir=lambda w: run_dir(w.run),
        max_codes=SETTINGS["diversity_max"],
    threads: SETTINGS["eval_threads"]
    log:
        f"{R}/logs/diversity/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/diversity/{{run}}.tsv"
    script:
        "../scripts/diversity.py"


rule score:
    # CIFAR-10: RMSE, IS and FID of prior samples and of reconstructions. Missing Inception
    # weights give "available": false entries with the reason, never a failed job.
    input:
        done=f"{R}/runs/{{run}}/done.json",
        weights=[f"{DATA}/inception/fetched.json"] if SETTINGS["fetch_fid_weights"] else [],
    output:
        f"{R}/eval/{{run}}/scores.json",
    wildcard_constraints:
        run=LIVE_RUNS,
    params:
        run_dir=lambda w: run_dir(w.run),
        n=SETTINGS["score_images"],
        cache_dir=DATA,
    threads: SETTINGS["train_threads"]
    resources:
        gpu=TRAIN_GPU,
    log:
        f"{R}/logs/score/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/score/{{run}}.tsv"
    script:
        "../scripts/score.py"


rule nll:
    # Binarised-MNIST runs: log p(x) by importance sampling (IWAE), comparable with published VAEs.
    input:
        done=f"{R}/runs/{{run}}/done.json",
    output:
        f"{R}/eval/{{run}}/nll.json",
    wildcard_constraints:
        run=LIVE_RUNS,
    params:
        run_dir=lambda w: run_dir(w.run),
        samples=SETTINGS["nll_samples"],
    threads: SETTINGS["train_threads"]
    log:
        f"{R}/logs/nll/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/nll/{{run}}.tsv"
    script:
        "../scripts/nll.py"


rule disentanglement:
    # dSprites runs (their factors are known): MIG and DCI of each component, the concatenation
    # and the VAE codes, and each component's latent traversals (mvae.steps.disentanglement_step).
    input:
        done=f"{R}/runs/{{run}}/done.json",
    output:
        scores=f"{R}/eval/{{run}}/disentanglement.json",
        traversals=f"{R}/eval/{{run}}/traversals.npz",
    wildcard_constraints:
        run=LIVE_RUNS,
    params:
        run_dir=lambda w: run_dir(w.run),
    threads: SETTINGS["eval_threads"]
    log:
        f"{R}/logs/disentanglement/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/disentanglement/{{run}}.tsv"
    script:
        "../scripts/disentanglement.py"


rule evaluated:
    # One run trained and fully evaluated: `scripts/paper_grid.py` asks for this file, run by run,
    # then copies the run's small outputs into the committed results/<preset>/.
    input:
        lambda w: run_eval_targets(w.run),
    output:
        f"{R}/eval/{{run}}/evaluated.json",
    wildcard_constraints:
        run=LIVE_RUNS,
    run:
        from pathlib import Path
        from mvae.archive import archived_output
        from mvae.provenance import write_json
        if archived_output(output, run_dir(wildcards.run)):
            raise WorkflowError(archived_output(output, run_dir(wildcards.run)))
        write_json(Path(output[0]), {"run": wildcards.run,
                                     "files": [os.path.relpath(p, R) for p in input]})
