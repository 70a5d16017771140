"""Hand-made image features for the features notebook: HOG and a hue histogram."""
import matplotlib.colors
import numpy as np
from scipy.ndimage import uniform_filter


def extract_features(imgs, feature_fns, verbose=False):
    """
    Compute features of every image and stack them into one row per image.

    Inputs:
    - imgs: N x H x W x C array of pixel data for N images.
    - feature_fns: List of k feature functions. The ith feature function takes an H x W x D
      array and returns a (one-dimensional) array of length F_i.
    - verbose: Boolean; if true, print progress.

    Returns:
    An array of shape (N, F_1 + ... + F_k) where each row is the concatenation of all features
    of a single image.
    """
    num_images = imgs.shape[0]
    if num_images == 0:
        return np.array([])

    # The first image tells how many values each feature function returns.
    first_features = []
    for feature_fn in feature_fns:
        feats = feature_fn(imgs[0].squeeze())
        assert feats.ndim == 1, "Feature functions must be one-dimensional"
        first_features.append(feats)
    feature_dims = [feats.size for feats in first_features]
    offsets = np.cumsum([0] + feature_dims)

    imgs_features = np.zeros((num_images, offsets[-1]))
    imgs_features[0] = np.hstack(first_features)
    for i in range(1, num_images):
        for feature_fn, start, stop in zip(feature_fns, offsets[:-1], offsets[1:], strict=True):
            imgs_features[i, start:stop] = feature_fn(imgs[i].squeeze())
        if verbose and i % 1000 == 999:
            print(f"Done extracting features for {i + 1} / {num_images} images")

    return imgs_features


def rgb2gray(rgb):
    """
    Convert an RGB image to grayscale.

    Inputs:
    - rgb: RGB image, array of shape (H, W, 3) (extra channels are ignored).

    Returns:
    - gray: grayscale image, array of shape (H, W).
    """
    # 0.144 (not the usual 0.114) is a known quirk of the official code; kept so that HOG
    # features equal the ones students compare against.
    return np.dot(rgb[..., :3], [0.299, 0.587, 0.144])


def hog_feature(im):
    """
    Compute a Histogram of Oriented Gradients (HOG) feature of an image.

    A simplified skimage.feature.hog (Dalal and Triggs, "Histograms of Oriented Gradients for
    Human Detection", CVPR 2005): gradient magnitudes in 9 orientation bins, averaged over
    cells of 8x8 pixels, without block normalization.

    Inputs:
    - im: an input grayscale (H, W) or RGB (H, W, 3) image.

    Returns:
    - feat: HOG feature, an array of shape (H // 8 * W // 8 * 9,): 144 values for 32x32.
    """
    if im.ndim == 3:
        image = rgb2gray(im)
    else:
        # The official code called np.at_least_2d, which does not exist; float avoids the
        # wrap-around of np.diff on uint8 images.
        image = np.atleast_2d(im).astype(np.float64)

    sx, sy = image.shape  # image size
    orientations = 9  # number of gradient bins
    cx, cy = (8, 8)  # pixels per cell

    gx = np.zeros(image.shape)
    gy = np.zeros(image.shape)
    gx[:, :-1] = np.diff(image, n=1, axis=1)  # forward difference along x (columns)
    gy[:-1, :] = np.diff(image, n=1, axis=0)  # forward difference along y (rows)
    grad_mag = np.sqrt(gx**2 + gy**2)
    # Degrees in (-90, 270]. Only [0, 180) falls in a bin (and exactly 0 is left out), so
    # gradients pointing to -x are dropped: a quirk of the official code, kept for its numbers.
    grad_ori = np.arctan2(gy, gx + 1e-15) * (180 / np.pi) + 90

    n_cellsx = int(np.floor(sx / cx))  # number of cells in x
    n_cellsy = int(np.floor(sy / cy))  # number of cells in y
    orientation_histogram = np.zeros((n_cellsx, n_cellsy, orientations))
    bin_width = 180 / orientations
    for i in range(orientations):
        in_bin = (grad_ori >= bin_width * i) & (grad_ori < bin_width * (i + 1)) & (grad_ori > 0)
        bin_mag = np.where(in_bin, grad_mag, 0)
        # Mean magnitude over each cell, read at the cell centres.
        cell_means = uniform_filter(bin_mag, size=(cx, cy))[round(cx / 2)::cx, round(cy / 2)::cy]
        orientation_histogram[:, :, i] = cell_means.T

    return orientation_histogram.ravel()


def color_histogram_hsv(im, nbin=10, xmin=0, xmax=255, normalized=True):
    """
    Compute a color histogram of an image using hue.

    Inputs:
    - im: H x W x C array of pixel data for an RGB image.
    - nbin: Number of histogram bins. (default: 10)
    - xmin: Minimum pixel value (default: 0)
    - xmax: Maximum pixel value (default: 255)
    - normalized: Whether to normalize the histogram (default: True)

    Returns:
      1D vector of length nbin giving the color histogram over the hue of the input image.
    """
    bins = np.linspace(xmin, xmax, nbin + 1)
    hsv = matplotlib.colors.rgb_to_hsv(im / xmax) * xmax
    # density=True divides by the bin widths too; multiplying them back gives the fraction of
    # pixels per bin (numpy removed the old `normed` argument).
    imhist, bin_edges = np.histogram(hsv[:, :, 0], bins=bins, density=normalized)
    return imhist * np.diff(bin_edges)
