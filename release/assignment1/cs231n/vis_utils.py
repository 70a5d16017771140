"""Tiling many small images into one picture, to look at data and learned weights."""
from math import ceil, sqrt

import numpy as np


def visualize_grid(Xs, ubound=255.0, padding=1):
    """
    Reshape a 4D tensor of image data to a grid for easy visualization.

    Inputs:
    - Xs: Data of shape (N, H, W, C)
    - ubound: Output grid will have values scaled to the range [0, ubound]
    - padding: The number of blank pixels between elements of the grid

    Returns:
    - grid: array of shape (G*H + (G-1)*padding, G*W + (G-1)*padding, C) with
      G = ceil(sqrt(N)); each image is rescaled on its own to [0, ubound], in row-major order.
    """
    N, H, W, C = Xs.shape
    grid_size = int(ceil(sqrt(N)))
    grid_height = H * grid_size + padding * (grid_size - 1)
    grid_width = W * grid_size + padding * (grid_size - 1)
    grid = np.zeros((grid_height, grid_width, C))
    for n in range(N):
        row, col = divmod(n, grid_size)
        y0 = row * (H + padding)
        x0 = col * (W + padding)
        img = Xs[n]
        low, high = np.min(img), np.max(img)
        # A constant image would divide by zero; it is shown as 0 instead.
        scale = ubound / (high - low) if high > low else 0.0
        grid[y0:y0 + H, x0:x0 + W] = scale * (img - low)
    return grid


def _normalize(G):
    """Rescale an array to [0, 1] as a whole."""
    low, high = G.min(), G.max()
    return (G - low) / (high - low) if high > low else np.zeros_like(G, dtype=np.float64)


def vis_grid(Xs):
    """
    Visualize a grid of images, rescaled together (not one by one) to [0, 1].

    Inputs:
    - Xs: Data of shape (N, H, W, C)

    Returns:
    - G: array of shape (A*H + A, A*W + A, C) with A = ceil(sqrt(N)); the one-pixel gaps hold
      the minimum of Xs.
    """
    N, H, W, C = Xs.shape
    A = int(ceil(sqrt(N)))
    G = np.full((A * H + A, A * W + A, C), np.min(Xs), dtype=Xs.dtype)
    for n in range(N):
        y, x = divmod(n, A)
        G[y * (H + 1):y * (H + 1) + H, x * (W + 1):x * (W + 1) + W, :] = Xs[n]
    return _normalize(G)


def vis_nn(rows):
    """
    Visualize a table of images (for example each test image followed by its neighbors),
    rescaled together to [0, 1].

    Inputs:
    - rows: a list of N lists of D images, each of shape (H, W, C)

    Returns:
    - G: array of shape (N*H + N, D*W + D, C); the one-pixel gaps are 1 before rescaling.
    """
    N = len(rows)
    D = len(rows[0])
    H, W, C = rows[0][0].shape
    G = np.ones((N * H + N, D * W + D, C), rows[0][0].dtype)
    for y in range(N):
        for x in range(D):
            G[y * (H + 1):y * (H + 1) + H, x * (W + 1):x * (W + 1) + W, :] = rows[y][x]
    return _normalize(G)
