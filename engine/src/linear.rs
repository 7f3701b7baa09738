//! Small dense linear algebra the stages share: a linear solve, rotations, unit vectors and a
//! nonlinear least-squares fit.

/// Solves an N×N system by Gaussian elimination with partial pivoting; none when it is singular.
pub(crate) fn solve<const N: usize>(mut matrix: [[f64; N]; N], mut right: [f64; N]) -> Option<[f64; N]> {
    for column in 0..N {
        let pivot = (column..N).max_by(|&a, &b| matrix[a][column].abs().total_cmp(&matrix[b][column].abs()))?;
        if matrix[pivot][column].abs() < 1.0e-12 {
            return None;
        }
        matrix.swap(column, pivot);
        right.swap(column, pivot);
        let (pivot_row, pivot_right) = (matrix[column], right[column]);
        for (row, value) in matrix.iter_mut().zip(right.iter_mut()).skip(column + 1) {
            let factor = row[column] / pivot_row[column];
            for (entry, pivot_entry) in row.iter_mut().zip(pivot_row).skip(column) {
                *entry -= factor * pivot_entry;
            }
            *value -= factor * pivot_right;
        }
    }
    let mut solution = [0.0f64; N];
    for row in (0..N).rev() {
        let known: f64 = (row + 1..N).map(|k| matrix[row][k] * solution[k]).sum();
        solution[row] = (right[row] - known) / matrix[row][row];
    }
    Some(solution)
}

/// The rotation matrix of the rotation vector `turn` (axis times angle, radians; Rodrigues).
pub(crate) fn rotation(turn: &[f64; 3]) -> [[f64; 3]; 3] {
    let angle = (turn[0] * turn[0] + turn[1] * turn[1] + turn[2] * turn[2]).sqrt();
    if angle < 1.0e-12 {
        return [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    }
    let [x, y, z] = turn.map(|value| value / angle);
    let (sin, cos) = angle.sin_cos();
    let c = 1.0 - cos;
    [
        [cos + x * x * c, x * y * c - z * sin, x * z * c + y * sin],
        [y * x * c + z * sin, cos + y * y * c, y * z * c - x * sin],
        [z * x * c - y * sin, z * y * c + x * sin, cos + z * z * c],
    ]
}

/// `matrix` times `vector`.
pub(crate) fn apply(matrix: &[[f64; 3]; 3], vector: &[f64; 3]) -> [f64; 3] {
    matrix.map(|row| row[0] * vector[0] + row[1] * vector[1] + row[2] * vector[2])
}

/// The parameters near `start` that make `misses` smallest in the least-squares sense
/// (Levenberg–Marquardt with a forward-difference Jacobian), after at most `rounds` rounds.
pub(crate) fn least_squares<const N: usize, const M: usize>(
    start: [f64; N],
    misses: impl Fn(&[f64; N]) -> [f64; M],
    rounds: usize,
) -> [f64; N] {
    let cost = |misses: &[f64; M]| misses.iter().map(|miss| miss * miss).sum::<f64>();
    let (mut parameters, mut current) = (start, misses(&start));
    let mut damping = 1.0e-3;
    for _ in 0..rounds {
        let mut jacobian = [[0.0f64; N]; M];
        for column in 0..N {
            let mut moved = parameters;
            let step = 1.0e-4 * (1.0 + parameters[column].abs());
            moved[column] += step;
            let changed = misses(&moved);
            for row in 0..M {
                jacobian[row][column] = (changed[row] - current[row]) / step;
            }
        }
        let mut normal = [[0.0f64; N]; N];
        let mut gradient = [0.0f64; N];
        for row in 0..M {
            for a in 0..N {
                gradient[a] -= jacobian[row][a] * current[row];
                for b in 0..N {
                    normal[a][b] += jacobian[row][a] * jacobian[row][b];
                }
            }
        }
        let mut improved = false;
        while damping < 1.0e9 {
            let mut damped = normal;
            for (index, row) in damped.iter_mut().enumerate() {
                row[index] += damping * normal[index][index].max(1.0e-9);
            }
            let Some(step) = solve(damped, gradient) else {
                damping *= 4.0;
                continue;
            };
            let mut trial = parameters;
            for (value, change) in trial.iter_mut().zip(step) {
                *value += change;
            }
            let tried = misses(&trial);
            if cost(&tried) < cost(&current) {
                let gain = cost(&current) - cost(&tried);
                (parameters, current) = (trial, tried);
                damping = (damping / 3.0).max(1.0e-9);
                improved = gain > 1.0e-12 * (1.0 + cost(&current));
                break;
            }
            damping *= 4.0;
        }
        if !improved {
            break;
        }
    }
    parameters
}

/// `vector` scaled to length 1 (itself when it has none).
pub(crate) fn unit(vector: [f32; 3]) -> [f32; 3] {
    let length = (vector[0] * vector[0] + vector[1] * vector[1] + vector[2] * vector[2]).sqrt();
    if length > 0.0 { vector.map(|value| value / length) } else { vector }
}
