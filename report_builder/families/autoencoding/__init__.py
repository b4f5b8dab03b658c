"""The encoder/decoder families: a group folder of five families that share their networks,
measurements and figures (not a family itself; each module here declares its own `FAMILY`).

- conv_ae, conv_vae: the course's convolutional auto-encoder and VAE (problem1);
- mlp_vae: a fully connected VAE with a Bernoulli decoder (hw4);
- mlp_ae, beta_vae: the `beta-vae` problem's auto-encoder and scheduled-β VAE.

conv.py and mlp.py are the networks; measures.py what a run reports (reconstructions, KL,
the test ELBO, the code, prior samples by the judge) with its summary columns; figures.py
the figures of one run, drawn by drawings.py; beta_search.py and interpolation.py the
analyses that combine these families' runs. measures, figures, drawings and the analyses
are not training code: editing them retrains nothing.
"""
