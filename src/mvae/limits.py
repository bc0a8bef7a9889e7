"""Upper bounds on the work one request may ask for: beyond them a typo (``10**20`` samples, a
hidden layer of 10^9 units) would hang or exhaust memory before saying anything, so they are
refused at once, naming the key. Standard library only: the workflow reads them while it parses.
"""

from __future__ import annotations

#: Importance samples per test image for the IWAE log-likelihood: twice the 5,000 of Burda et
#: al. (2016). Each thousand costs the better part of an hour on one CPU core for a K = 4 MNIST
#: model (mvae.run_report), so the bound is already days.
MAX_IWAE_SAMPLES = 10_000

#: Weights of one model (all components): 2^31 float32 weights are 8 GiB, and Adam keeps two
#: moments beside each; the paper's largest model has about 10^7.
MAX_WEIGHTS = 2 ** 31
