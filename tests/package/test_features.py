"""features.py (HOG, hue histogram, extract_features) and vis_utils.py."""
import colorsys

import numpy as np
import pytest

from cs231n.features import color_histogram_hsv, extract_features, hog_feature, rgb2gray
from cs231n.vis_utils import vis_grid, vis_nn, visualize_grid


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, size=(6, 32, 32, 3))


def reference_hog(gray):
    """HOG written pixel-block by pixel-block: forward differences, orientation in degrees
    shifted by 90, bins of 20 degrees over (0, 180), mean magnitude per 8x8 cell."""
    gx = np.zeros_like(gray)
    gy = np.zeros_like(gray)
    gx[:, :-1] = gray[:, 1:] - gray[:, :-1]
    gy[:-1, :] = gray[1:, :] - gray[:-1, :]
    mag = np.hypot(gx, gy)
    ori = np.degrees(np.arctan2(gy, gx + 1e-15)) + 90
    counted = (ori > 0) & (ori < 180)
    bin_idx = np.where(counted, np.floor(ori / 20).astype(int), -1)
    hist = np.zeros((4, 4, 9))  # indexed [cell column, cell row, orientation]
    for cell_row in range(4):
        for cell_col in range(4):
            block = np.s_[8 * cell_row:8 * cell_row + 8, 8 * cell_col:8 * cell_col + 8]
            for o in range(9):
                hist[cell_col, cell_row, o] = np.mean(np.where(bin_idx[block] == o, mag[block], 0))
    return hist.ravel()


def test_rgb2gray_uses_the_official_weights():
    im = np.zeros((2, 2, 3))
    im[0, 0] = [1, 0, 0]
    im[0, 1] = [0, 1, 0]
    im[1, 0] = [0, 0, 1]
    im[1, 1] = [10, 20, 30]
    # 0.144 for blue is the official code's quirk (0.114 is the usual weight).
    np.testing.assert_allclose(rgb2gray(im), [[0.299, 0.587], [0.144, 2.99 + 11.74 + 4.32]])


def test_hog_feature_has_144_values_for_a_32x32_image(images):
    feat = hog_feature(images[0])
    assert feat.shape == (144,)
    assert np.all(feat >= -1e-12)  # cell means of magnitudes (uniform_filter rounds near 0)


def test_hog_feature_equals_a_cell_by_cell_reference(images):
    for im in images:
        np.testing.assert_allclose(hog_feature(im), reference_hog(rgb2gray(im)),
                                   rtol=1e-10, atol=1e-10)


def test_hog_feature_works_on_grayscale_images(images):
    gray = rgb2gray(images[1])
    feat = hog_feature(gray)
    assert feat.shape == (144,)
    np.testing.assert_allclose(feat, reference_hog(gray), rtol=1e-10, atol=1e-10)
    # Three equal channels give 0.299 + 0.587 + 0.144 = 1.03 times the gray image.
    np.testing.assert_allclose(hog_feature(np.stack([gray] * 3, axis=-1)), 1.03 * feat,
                               rtol=1e-10, atol=1e-12)


def test_hog_feature_of_a_uint8_grayscale_image_does_not_wrap_around():
    ramp = np.tile(np.arange(0, 32, dtype=np.uint8)[::-1] * 8, (32, 1))  # decreasing in x
    up = np.tile(np.arange(0, 32, dtype=np.uint8) * 8, (32, 1))  # increasing in x
    np.testing.assert_array_equal(hog_feature(ramp), hog_feature(ramp.astype(float)))
    np.testing.assert_array_equal(hog_feature(up), hog_feature(up.astype(float)))


def test_hog_feature_keeps_the_official_half_circle_of_orientations():
    # Only orientations in (0, 180) degrees after the +90 shift count: a gray level rising to
    # the right is seen, the mirror image falling to the right is not (official behaviour).
    rising = np.tile(np.arange(32.0) * 8, (32, 1))
    assert hog_feature(rising).sum() > 0
    assert hog_feature(rising[:, ::-1]).sum() == 0


@pytest.mark.parametrize("nbin", [10, 25])
def test_color_histogram_hsv_is_the_fraction_of_pixels_per_hue_bin(images, nbin):
    im = images[2]
    hues = np.array([colorsys.rgb_to_hsv(*(px / 255.0))[0] for px in im.reshape(-1, 3)])
    counts = np.bincount(np.minimum((hues * nbin).astype(int), nbin - 1), minlength=nbin)
    hist = color_histogram_hsv(im, nbin=nbin)
    assert hist.shape == (nbin,)
    np.testing.assert_allclose(hist, counts / hues.size, atol=1e-12)
    assert hist.sum() == pytest.approx(1.0)


def test_color_histogram_hsv_puts_pure_colours_in_their_hue_bins():
    im = np.zeros((4, 4, 3))
    im[:2, :, 0] = 255.0  # red, hue 0
    im[2:, :, 1] = 255.0  # green, hue 1/3 -> bin 3 of 10
    np.testing.assert_allclose(color_histogram_hsv(im), [0.5, 0, 0, 0.5, 0, 0, 0, 0, 0, 0])


def test_color_histogram_hsv_unnormalized_is_counts_times_bin_width():
    im = np.zeros((4, 4, 3))
    im[..., 2] = 255.0  # blue, hue 2/3 -> bin 6 of 10
    expected = np.zeros(10)
    expected[6] = 16 * 25.5
    np.testing.assert_allclose(color_histogram_hsv(im, normalized=False), expected)


def test_extract_features_stacks_every_function_for_every_image(images):
    hist = lambda im: color_histogram_hsv(im, nbin=25)  # noqa: E731
    feats = extract_features(images, [hog_feature, hist])
    assert feats.shape == (len(images), 144 + 25)
    for i, im in enumerate(images):
        np.testing.assert_array_equal(feats[i, :144], hog_feature(im))
        np.testing.assert_array_equal(feats[i, 144:], hist(im))


def test_extract_features_of_no_images_is_empty():
    assert extract_features(np.zeros((0, 32, 32, 3)), [hog_feature]).size == 0


def test_extract_features_rejects_feature_functions_that_are_not_one_dimensional(images):
    with pytest.raises(AssertionError, match="one-dimensional"):
        extract_features(images, [lambda im: im])


def test_extract_features_verbose_reports_every_1000_images(capsys):
    imgs = np.arange(2001 * 2 * 2 * 3, dtype=float).reshape(2001, 2, 2, 3)
    feats = extract_features(imgs, [lambda im: im.sum(axis=(0, 1))], verbose=True)
    np.testing.assert_array_equal(feats, imgs.sum(axis=(1, 2)))
    assert capsys.readouterr().out.splitlines() == [
        "Done extracting features for 1000 / 2001 images",
        "Done extracting features for 2000 / 2001 images",
    ]


def test_extract_features_is_silent_by_default(images, capsys):
    extract_features(images, [hog_feature])
    assert capsys.readouterr().out == ""


def test_visualize_grid_tiles_images_each_rescaled_to_ubound():
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(5, 3, 4, 2))
    grid = visualize_grid(Xs, ubound=10.0, padding=2)
    assert grid.shape == (3 * 3 + 2 * 2, 3 * 4 + 2 * 2, 2)  # 5 images -> 3x3 grid
    fifth = grid[5:8, 6:10]  # row 1, column 1
    np.testing.assert_allclose(fifth, 10.0 * (Xs[4] - Xs[4].min()) / np.ptp(Xs[4]))
    assert grid[3:5].sum() == 0 and grid[:, 4:6].sum() == 0  # padding stays blank
    assert grid[10:].sum() == 0  # the third row of the grid is empty


def test_visualize_grid_shows_a_constant_image_as_zeros():
    grid = visualize_grid(np.full((1, 2, 2, 3), 7.0))
    assert np.all(np.isfinite(grid)) and np.all(grid == 0)


def test_vis_grid_and_vis_nn_rescale_everything_to_unit_range():
    rng = np.random.default_rng(1)
    Xs = rng.uniform(-3, 5, size=(3, 2, 2, 1))
    G = vis_grid(Xs)
    assert G.shape == (2 * 2 + 2, 2 * 2 + 2, 1)
    assert G.min() == 0 and G.max() == 1
    np.testing.assert_allclose(G[3:5, 0:2], (Xs[2] - Xs.min()) / np.ptp(Xs))

    rows = [[Xs[0], Xs[1]], [Xs[2], Xs[0]]]
    N = vis_nn(rows)
    assert N.shape == (2 * 2 + 2, 2 * 2 + 2, 1)
    low, high = min(Xs.min(), 1.0), max(Xs.max(), 1.0)  # the gaps hold 1 before rescaling
    np.testing.assert_allclose(N[3:5, 3:5], (Xs[0] - low) / (high - low))
