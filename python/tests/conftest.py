# The suite drives pytest itself (pytester) to check the fixtures from the outside: teardown,
# one session mock, the README example as pasted.
pytest_plugins = ["pytester"]
