"""fastMRI k-space reconstruction with the reference implementation's conventions."""
