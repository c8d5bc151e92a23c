"""Assignment ps01_span: predictions X @ w lie in the column span of X."""

from autograder.catalogue import collect
from autograder.spec import AssignmentSpec, FunctionSpec

from . import alternatives, cases, mistakes

SPEC = AssignmentSpec(
    assignment_id="ps01_span",
    notebook="span",
    functions=(
        FunctionSpec(
            "combine_columns",
            groups=(
                ("basic cases", 1.0),
                ("single column and single row", 0.5),
                ("integer and list inputs", 0.5),
            ),
            banned=("@", "dot", "matmul", "einsum", "inner", "tensordot", "vdot"),
            banned_reason=(
                "combine_columns must write the prediction as a sum of scaled columns, "
                "w[0] * X[:, 0] + w[1] * X[:, 1] + ..., so matrix-product operators and "
                "functions are not allowed in its body."
            ),
        ),
        FunctionSpec(
            "predict",
            groups=(
                ("basic cases", 1.0),
                ("multiple outputs", 1.0),
                ("integer and list inputs", 0.5),
                ("error handling", 1.5),
            ),
        ),
        FunctionSpec(
            "span_coefficients",
            groups=(
                ("targets in the span", 1.0),
                ("targets outside the span", 1.0),
                ("rank-deficient and wide X", 1.5),
                ("ill-conditioned X", 0.5),
                ("integer and list inputs", 0.5),
            ),
        ),
        FunctionSpec(
            "in_span",
            groups=(
                ("basic cases", 1.0),
                ("large and tiny targets", 1.0),
                ("explicit tol", 0.5),
                ("rank-deficient X", 0.5),
            ),
        ),
        FunctionSpec(
            "column_rank",
            groups=(
                ("basic cases", 1.0),
                ("rank-deficient X", 1.0),
                ("large and tiny scale", 1.0),
                ("explicit tol", 0.5),
                ("integer and list inputs", 0.5),
            ),
        ),
        FunctionSpec(
            "polynomial_features",
            groups=(
                ("basic cases", 1.0),
                ("degree 0", 0.5),
                ("integer and list inputs", 0.5),
                ("error handling", 0.5),
            ),
        ),
    ),
    reference_module="solutions.ps01_span",
    build_cases=cases.build_cases,
    mistakes=collect(mistakes),
    alternatives=collect(alternatives),
)
