"""Learned integrators Z(t+dt) = Z(t) + dt G(Z(t)): training, evaluation, export and import."""
