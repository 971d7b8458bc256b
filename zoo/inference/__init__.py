"""Inference: weights cache, image decoding, preprocessing, device choice, prediction and CAM."""
