"""nbgrader configuration of the course.

The repository root is the nbgrader course directory.  ``configure`` swaps
nbgrader's kernel execution for the isolated grader, so that
``nbgrader autograde`` scores come from the sandbox (see README.md).
"""

from autograder.nbgrader_plugin import configure

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "span-attention"
c.CourseDirectory.root = "."

configure(c)
