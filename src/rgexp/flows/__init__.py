"""RBM flows (Iso, Shiba & Yokoo): repeated v -> h -> v' reconstructions of configurations."""

from rgexp.flows.rbm_flow import RBMFlow, rbm_flow

__all__ = ["rbm_flow", "RBMFlow"]
