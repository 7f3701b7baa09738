"""3D GPT for Blender: "Generate from image" in the 3D View sidebar and the Image Editor.

A thin UI over the `threedgpt` Python module (bundled as a wheel): the daemon does the work, this
extension chooses the picture and options, shows progress, and imports the result.
"""

from . import account, operators, panels, preferences, properties, session

_modules = (preferences, properties, operators, panels, account)


def register():
    for module in _modules:
        module.register()


def unregister():
    session.shutdown()
    for module in reversed(_modules):
        module.unregister()
