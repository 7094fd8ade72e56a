"""CREPE's input and output format (Kim, Salamon, Li and Bello, ICASSP 2018): 1024-sample frames at 16 kHz in,
360 pitch bins 20 cents apart out (31.7 Hz up to 2 kHz). Shared by the network (`crepe`) and the tracker
(`pitch`), which must not import each other at import time: the network needs torch, the tracker loads it late."""

CREPE_RATE = 16_000
FRAME = 1024
BINS = 360
CENTS_PER_BIN = 20.0
BIN0_CENTS = 1997.3794084376191      # bin 0 in cents above 10 Hz
MODELS = ("tiny", "full")
