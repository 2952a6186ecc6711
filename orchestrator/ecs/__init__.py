"""ECS on real containers: task definitions, tasks, services, deployments and placement.

``task_definition`` parses AWS's JSON; ``model`` holds the resources; ``placement`` and
``deployment`` are pure decisions; ``operations`` are the actions the API exposes;
``controller`` is the level-triggered loop that makes Docker match the store
(``orchestrator.runtime.tasks`` is the Docker side); ``state`` keeps the ``ecs_*`` tables.
"""
