"""Scaled dot-product attention: softmax weights make each output a convex combination of the values."""

from autograder.catalogue import collect
from autograder.spec import AssignmentSpec, FunctionSpec

from . import alternatives, cases, mistakes

SPEC = AssignmentSpec(
    assignment_id="ps02_attention",
    notebook="attention",
    functions=(
        FunctionSpec(
            "stable_softmax",
            groups=(
                ("basic cases", 1.0),
                ("other axes", 0.5),
                ("masking", 1.0),
                ("fully masked rows", 1.0),
                ("extreme values", 1.0),
                ("error handling", 1.0),
                ("integer and list inputs", 0.5),
            ),
        ),
        FunctionSpec(
            "causal_mask",
            groups=(("basic cases", 1.0), ("rectangular shapes", 1.0)),
        ),
        FunctionSpec(
            "attention_weights",
            groups=(
                ("basic cases", 1.0),
                ("shapes and batching", 1.0),
                ("masking", 1.0),
                ("fully masked rows", 0.5),
                ("error handling", 0.5),
            ),
        ),
        FunctionSpec(
            "attention",
            groups=(
                ("basic cases", 1.0),
                ("shapes and batching", 1.0),
                ("masking", 0.5),
                ("fully masked rows", 0.5),
                ("error handling", 0.5),
                ("integer and list inputs", 0.5),
            ),
        ),
        FunctionSpec(
            "combine_values",
            groups=(("basic cases", 1.0), ("general weights", 0.5), ("integer and list inputs", 0.5)),
            banned=("@", "dot", "matmul", "einsum", "inner", "tensordot", "vdot"),
            banned_reason=(
                "combine_values must build the output as an explicit sum of weighted value vectors, "
                "so that each output is visibly a combination of the rows of V. Matrix and dot "
                "products would hide that."
            ),
        ),
        FunctionSpec(
            "multi_head_attention",
            groups=(
                ("basic cases", 1.0),
                ("several heads", 1.0),
                ("masking", 1.0),
                ("fully masked rows", 0.5),
                ("error handling", 0.5),
            ),
        ),
    ),
    reference_module="solutions.ps02_attention",
    build_cases=cases.build_cases,
    mistakes=collect(mistakes),
    alternatives=collect(alternatives),
)
