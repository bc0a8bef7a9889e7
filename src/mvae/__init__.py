"""mvae: Mixtures of Variational Autoencoders (Ye & Bors) in PyTorch.

>>> import torch, mvae
>>> model = mvae.MVAE(mvae.Config(components=3, latent_dim=8, hidden_dim=32))
>>> x = torch.rand(16, 1, 28, 28)
>>> terms = mvae.mixture_loss(model(x), x, model.config)
>>> terms.loss.shape
torch.Size([])
"""

from mvae.config import Config, ConfigError, load_config
from mvae.dhsic import dhsic
from mvae.likelihood import iwae_log_likelihood
from mvae.model import MVAE, MVAEOutput
from mvae.objective import LossTerms, elbo, mixture_loss
from mvae.run_report import evaluate_run
from mvae.train import NonFiniteLossError, load_run, train

__version__ = "0.1.0"

__all__ = [
    "MVAE", "Config", "ConfigError", "LossTerms", "MVAEOutput", "NonFiniteLossError",
    "dhsic", "elbo", "evaluate_run", "iwae_log_likelihood", "load_config", "load_run",
    "mixture_loss", "train", "__version__",
]
