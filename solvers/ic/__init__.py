"""Initial conditions: random fields (Gaussian random fields, random Fourier series) and the
standard analytic ones (KdV soliton, Taylor-Green vortex, Cole-Hopf Burgers, Gray-Scott spots)."""
