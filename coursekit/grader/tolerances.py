"""How close a submission's numbers must be, and why: one place for every hidden check.

Errors are measured against the scale of the expected array: the largest |actual - expected|
divided by the largest |expected| (plain relative error for a single number). Rounding error of
a correct computation is bounded that way: a matrix product, a sum or a softmax in another order
(loops, `dot`, `@`, `einsum`, log-sum-exp, probabilities-then-log) differs from ours by a few
units of the last digit of the largest value, not of each entry; an entry that happens to be
near zero must not make a correct answer look wrong.

No tolerance here is stricter than the published check of the same quantity in the official
notebooks (`rel_error` against values printed to 8-10 digits: about 1e-7 to 1e-9 for layers and
losses, 1e-6 for the update rules, whose Adam check accepts epsilon inside or outside the square
root), and each is still orders of magnitude below the error of any real bug (a missing factor,
a wrong sign or index, a missing term: errors of 1e-3 and more).
"""

# float64 values computed with sums and products (distances, losses, gradients, scores): any
# correct order of operations agrees to ~1e-15 of the largest value; 1e-7 is the looser end of
# the published layer checks.
FLOAT64 = 1e-7

# float32 networks (FullyConnectedNet(dtype=np.float32)): single precision rounds at ~6e-8 per
# operation and a student may keep float32 where we promote or the reverse (the regularization
# sum, say): 1e-4 holds any of them, CPU kernels included (AVX-512 float32 sums differ by ~2e-5
# from AVX2 ones), and a bug still shows as 1e-2 or more.
FLOAT32 = 1e-4

# Update rules: the published checks' bar (relative error around 1e-7 and below 1e-6), which
# accepts epsilon added inside or outside the square root; the inputs keep |dw| >= 0.5 so that
# the two placements differ by less than 1e-7 of the weights.
UPDATE = 1e-6

# Elementwise results with no rounding at all in a correct version (relu, maxima, the SGD step
# W - lr * grad): only a last-digit difference from an equivalent expression is allowed.
EXACT = 1e-12

# Labels: integers, compared exactly.
LABELS = 0.0

# Analytic gradient against centred differences (h = 1e-5) of the student's own function: the
# published checks ask for 1e-7 to 1e-8 on their inputs; the difference quotient itself errs by
# ~1e-10 of the largest value, so 1e-6 leaves room for every correct loss and no room for a
# gradient that is not the loss's.
NUMERIC_GRADIENT = 1e-6

# Initial weights drawn with the seeded generator (weight_scale * np.random.randn): the same
# draws give the same numbers, `np.random.normal(0, weight_scale, shape)` included.
SEEDED_DRAWS = 1e-10
