"""Named tolerances for the spec, each with where it comes from.

Compare a float32 result with a float64 oracle using these, never an unnamed literal.
"""

# float32 has a 24-bit significand: one rounding is 2**-24 ~ 6e-8; a short chain of
# elementwise operations stays within ~1e-6 relative.
RTOL_FLOAT32_ELEMENTWISE = 1e-6

# A dot product of n float32 terms accumulates rounding ~ sqrt(n) * 2**-24 relative to the
# sum of |terms|; a Dense layer with a few hundred inputs stays below 1e-5.
RTOL_FLOAT32_DOT = 1e-5
ATOL_FLOAT32_DOT = 1e-5

# Convolutions (oneDNN picks blocked/Winograd-like algorithms, reordering the sums) agree
# with a float64 sliding window to ~5e-4 relative on unit-scale data.
RTOL_CONV = 5e-4
ATOL_CONV = 5e-4

# Two float32 paths through the same TensorFlow graph (eager vs compiled vs XLA, batch vs
# single image): the same ops, possibly fused differently.
RTOL_SAME_GRAPH = 1e-5
ATOL_SAME_GRAPH = 1e-6

# Two float64 computations of the same sums in different orders (loops vs one matmul): each term
# rounds at 2**-53 ~ 1e-16; sums of a few hundred unit-scale terms stay far below 1e-10.
RTOL_FLOAT64_REORDER = 1e-10
ATOL_FLOAT64_REORDER = 1e-10

# A bound computed in float64 and the float32 samples drawn against it (the bound itself is cast
# to float32 before sampling): one float32 rounding, 2**-23 relative, can put a sample past it.
RTOL_FLOAT32_BOUND = 2.0**-23

# Statistical checks: an estimate may differ from its expectation by Z_STATISTICAL standard errors
# (two-sided p ~ 6e-7 per check under a normal approximation; the draws are seeded, so a pass is stable).
Z_STATISTICAL = 5.0

# A streaming metric keeps float32 sums: each of n additions rounds once (2**-24 relative), so a sum
# of n non-negative terms is within n * 2**-24 of the float64 one-shot sum; the ratio in result()
# takes two such sums. The metric tests keep n <= METRIC_MAX_SAMPLES.
METRIC_MAX_SAMPLES = 128
RTOL_FLOAT32_ACCUMULATION = 2 * METRIC_MAX_SAMPLES * 2.0**-24  # ~1.5e-5

# Bilinear resizing in float32 of maps with values in [0, 1]: each output is a convex combination
# of four inputs with float32 weights, a handful of 2**-24 roundings of numbers <= 1 (< 1e-6).
ATOL_BILINEAR_FLOAT32 = 1e-6

# Heatmaps normalised to [0, 1] (relu(map) / max): the float32 dot-product rounding of the raw map
# (RTOL_FLOAT32_DOT) carries over relative to the peak; two float32 paths (batch vs one image, eager
# vs compiled vs XLA, logits scaled by a constant) were measured below 1e-6 on the shapes convnet.
ATOL_NORMALISED_MAPS = 1e-5

# Two float32 paths through a deep network (Xception's 36 convolutions with batch norm: the compiled
# Grad-CAM step, the compiled forward pass, an eager call), which TensorFlow may fuse and order
# differently: a ~1e-7 rounding difference per layer compounds with depth. 1e-4 relative bounds it
# (atol 1e-7 is 1e-4 of a uniform 1000-class probability); on this machine the paths agree exactly.
RTOL_DEEP_FLOAT32_PATHS = 1e-4
ATOL_DEEP_FLOAT32_PATHS = 1e-7

# scikit-learn's pairwise_distances expands |x - y|^2 = |x|^2 + |y|^2 - 2 x.y: the cancellation leaves
# ~sqrt(2**-52) * |x| ~ 1.5e-8 |x| on distances near 0, and float32 rows get a float32 result (2**-24
# relative). Filter rows of norm below ~10 stay under 1e-6 (measured: 4e-8 on the digits filters).
ATOL_SKLEARN_DISTANCES = 1e-6

# TensorFlow's profiler total for Xception also counts elementwise work (batch-norm scale and shift,
# residual adds, max-pool comparisons, the global mean, softmax): 58.9 MFLOP, 0.35% of its 16.77 GFLOP.
# flops counts weighted sums only; 0.5% allows that share and little more (missing the smallest conv,
# block1_conv1 at 0.23%, would land at 0.58%).
RTOL_PROFILER_TOTAL = 5e-3

# Grad-CAM's backward pass differentiates only Xception's head (global pooling and the 2048x1000
# classifier): 4 MFLOP next to the forward pass's 16.77 GFLOP, 0.03%. 0.1% allows that and the map's
# elementwise ops, and fails if even the last separable conv were differentiated (3.8% alone).
RTOL_ONE_FORWARD_PASS = 1e-3

# A float32 probability near 1.0 is a multiple of 2**-24 (the spacing of floats in [0.5, 1)), and
# softmax/sigmoid kernels (Eigen, oneDNN, vectorised or not) round it differently by a few such
# steps: 0.99999994 on one CPU is 1.0 on another. Four steps bound 1 - p's absolute error.
ATOL_FLOAT32_PROBABILITY = 4 * 2.0**-24

# Grad-CAM++ and LayerCAM against their float64 oracles: each map is sum over c of (a weight built from
# float32 gradients: a sum over the H*W positions and, for Grad-CAM++, one division) times A. Every factor
# carries a few float32 roundings relative to the sum of |terms| (RTOL_FLOAT32_DOT's argument; the 64-term
# sums of features are within 64 * 2**-24 = 4e-6 even in the worst case). With ReLU features and a positive
# gradient, Grad-CAM++'s alpha = 1 / (2 + g * sum A) has a denominator >= 2, so the division does not
# amplify that error. Measured: 1.2e-7 of the map's scale on a Flatten-head convnet.
RTOL_CAM_METHODS = 1e-5

# Two accuracies over the same n samples (a count divided by n, computed two ways) agree when their
# counts do: any difference below half a sample, 0.5 / n, is rounding of the division.
HALF_A_SAMPLE = 0.5
