"""Domain package shared by the Lambda functions, the site build and the local stack.

Nothing in here imports Lambda event types; AWS calls live behind small classes
(``storage``, ``notifications``) whose boto3 clients can be injected.
"""
