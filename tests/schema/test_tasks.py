"""Tasks: visibility per profile (a contact never sees an INTERNAL task), the
CLIENT_EDITABLE rules, comments mailed to followers over real SMTP with an unsubscribe
link that works, and the account's task sharing removing Tasks from contacts' schemas."""

from __future__ import annotations

from tests.schema.collab_helpers import (
    COMMENT,
    CREATE_TASK,
    FOLLOW_TASK,
    SET_STATUS,
    TASK,
    TASKS,
    UNSUBSCRIBE,
    UPDATE_SETTINGS,
    code_of,
    collab_client,
    settle,
    text_of,
    unknown_field,
    unsubscribe_token_in,
)


async def _task(gql, token, project_id, title, visibility):
    data = await gql.data(
        CREATE_TASK,
        {"input": {"projectId": project_id, "title": title, "visibility": visibility}},
        token=token,
    )
    return data["createTask"]


async def test_contacts_see_shared_tasks_only_never_internal_ones(gql, tenant):
    # given a project with an internal, a visible and an editable task
    world = await collab_client(gql, tenant.admin)
    project = world["project"]["id"]
    internal = await _task(gql, tenant.admin, project, "Margins", "INTERNAL")
    visible = await _task(gql, tenant.admin, project, "Design", "CLIENT_VISIBLE")
    editable = await _task(gql, tenant.admin, project, "Copy", "CLIENT_EDITABLE")
    # when each contact role lists the tasks
    for role in ("BILLING", "COLLABORATOR", "VIEWER"):
        token = world["tokens"][role]
        listed = {e["node"]["id"] for e in (await gql.data(TASKS, token=token))["tasks"]["edges"]}
        # then it sees the shared ones, and the internal one is like an unknown id
        assert listed == {visible["id"], editable["id"]}, role
        assert code_of(await gql(TASK, {"id": internal["id"]}, token=token)) == "NOT_FOUND"
        body = await gql(
            "query($id: ID!) { project(id: $id) { tasks { id } } }",
            {"id": project},
            token=token,
        )
        assert {t["id"] for t in body["data"]["project"]["tasks"]} == listed
    # and staff see all three
    staff = await gql.data(TASKS, token=tenant.admin)
    assert len(staff["tasks"]["edges"]) == 3


async def test_client_editable_tasks_take_a_contacts_status_change_others_do_not(gql, tenant):
    world = await collab_client(gql, tenant.admin)
    project = world["project"]["id"]
    visible = await _task(gql, tenant.admin, project, "Design", "CLIENT_VISIBLE")
    editable = await _task(gql, tenant.admin, project, "Copy", "CLIENT_EDITABLE")
    internal = await _task(gql, tenant.admin, project, "Margins", "INTERNAL")
    collaborator = world["tokens"]["COLLABORATOR"]
    # when the collaborator moves the editable task: it moves
    moved = await gql.data(SET_STATUS, {"id": editable["id"], "status": "DONE"}, token=collaborator)
    assert moved["setTaskStatus"]["status"] == "DONE"
    # a visible-only task is refused, an internal one does not exist for it
    body = await gql(SET_STATUS, {"id": visible["id"], "status": "DONE"}, token=collaborator)
    assert code_of(body) == "FORBIDDEN"
    body = await gql(SET_STATUS, {"id": internal["id"], "status": "DONE"}, token=collaborator)
    assert code_of(body) == "NOT_FOUND"
    # and a viewer has no such mutation at all
    body = await gql(
        SET_STATUS, {"id": editable["id"], "status": "TODO"}, token=world["tokens"]["VIEWER"]
    )
    assert unknown_field(body, "setTaskStatus", "Mutation")
    # staff move any task
    staff = await gql.data(
        SET_STATUS, {"id": visible["id"], "status": "IN_PROGRESS"}, token=tenant.admin
    )
    assert staff["setTaskStatus"]["status"] == "IN_PROGRESS"


async def test_a_contacts_task_is_client_editable_and_it_cannot_choose_visibility(gql, tenant):
    world = await collab_client(gql, tenant.admin)
    project = world["project"]["id"]
    billing = world["tokens"]["BILLING"]
    # when a contact creates a task
    created = (
        await gql.data(
            CREATE_TASK, {"input": {"projectId": project, "title": "Add FAQ page"}}, token=billing
        )
    )["createTask"]
    # then it is CLIENT_EDITABLE, and the contact follows it
    assert created["visibility"] == "CLIENT_EDITABLE"
    assert (await gql.data(TASK, {"id": created["id"]}, token=billing))["task"]["following"]
    # and it may not make a task internal
    body = await gql(
        CREATE_TASK,
        {"input": {"projectId": project, "title": "Secret", "visibility": "INTERNAL"}},
        token=billing,
    )
    assert code_of(body) == "FORBIDDEN"
    # nor create one in another client's project
    other = await collab_client(gql, tenant.admin, name="Other", prefix="other")
    body = await gql(
        CREATE_TASK,
        {"input": {"projectId": other["project"]["id"], "title": "Hi"}},
        token=billing,
    )
    assert code_of(body) == "NOT_FOUND"


async def test_comments_are_mailed_to_followers_with_a_working_unsubscribe_link(
    gql, tenant, smtp_runtime, smtp_server
):
    # given a shared task that the collaborator follows, and an internal one
    world = await collab_client(gql, tenant.admin)
    project = world["project"]["id"]
    task = await _task(gql, tenant.admin, project, "Homepage copy", "CLIENT_VISIBLE")
    collaborator = world["tokens"]["COLLABORATOR"]
    await gql.data(FOLLOW_TASK, {"id": task["id"], "following": True}, token=collaborator)
    await settle(smtp_runtime)
    smtp_server.messages.clear()
    # when staff comment
    await gql.data(COMMENT, {"taskId": task["id"], "body": "Draft is ready."}, token=tenant.admin)
    await settle(smtp_runtime)
    # then the collaborator is mailed (the author, who follows as creator, is not)
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == "cole@smith.test"
    assert "Draft is ready." in text_of(mail)
    assert "Homepage copy" in mail["Subject"]
    # when the contact answers, the staff author (a follower by commenting) is mailed
    smtp_server.messages.clear()
    await gql.data(COMMENT, {"taskId": task["id"], "body": "Looks good"}, token=collaborator)
    await settle(smtp_runtime)
    [reply] = await smtp_server.wait_for(1)
    assert reply["To"] == "admin@acme.test"
    assert "Looks good" in text_of(reply)
    # when the contact follows its mail's unsubscribe link
    token = unsubscribe_token_in(mail)
    assert (await gql.data(UNSUBSCRIBE, {"token": token}))["unsubscribe"] is True
    assert (await gql.data(UNSUBSCRIBE, {"token": token}))["unsubscribe"] is True  # again: fine
    state = await gql.data(TASK, {"id": task["id"]}, token=collaborator)
    assert state["task"]["following"] is False
    # then the next comment mails nobody (the staff author wrote it)
    smtp_server.messages.clear()
    await gql.data(COMMENT, {"taskId": task["id"], "body": "Shipping."}, token=tenant.admin)
    await settle(smtp_runtime)
    assert smtp_server.messages == []
    # and a forged token is refused
    assert code_of(await gql(UNSUBSCRIBE, {"token": token + "x"})) == "UNAUTHENTICATED"


async def test_no_mail_to_a_contact_about_a_task_made_internal(
    gql, tenant, smtp_runtime, smtp_server
):
    world = await collab_client(gql, tenant.admin)
    task = await _task(gql, tenant.admin, world["project"]["id"], "Copy", "CLIENT_VISIBLE")
    await gql.data(
        COMMENT, {"taskId": task["id"], "body": "Hi"}, token=world["tokens"]["COLLABORATOR"]
    )
    await gql.data(
        "mutation($id: ID!) { updateTask(id: $id, input: { visibility: INTERNAL }) { id } }",
        {"id": task["id"]},
        token=tenant.admin,
    )
    await settle(smtp_runtime)
    smtp_server.messages.clear()
    await gql.data(COMMENT, {"taskId": task["id"], "body": "Internal note"}, token=tenant.admin)
    await settle(smtp_runtime)
    assert smtp_server.messages == []


async def test_task_sharing_off_removes_tasks_from_every_contacts_schema(gql, tenant):
    world = await collab_client(gql, tenant.admin)
    task = await _task(gql, tenant.admin, world["project"]["id"], "Copy", "CLIENT_EDITABLE")
    billing = world["tokens"]["BILLING"]
    assert (await gql.data(TASK, {"id": task["id"]}, token=billing))["task"]
    # when the admin turns task sharing off
    data = await gql.data(
        UPDATE_SETTINGS, {"input": {"taskSharingEnabled": False}}, token=tenant.admin
    )
    assert data["updateAccountSettings"]["taskSharingEnabled"] is False
    # then the Tasks module is gone from the contacts' schemas, root and nested
    for role, token in world["tokens"].items():
        assert unknown_field(await gql(TASKS, token=token), "tasks", "Query"), role
        body = await gql(
            "query($id: ID!) { project(id: $id) { tasks { id } } }",
            {"id": world["project"]["id"]},
            token=token,
        )
        assert unknown_field(body, "tasks", "Project"), role
        names = await gql.data('{ __type(name: "Query") { fields { name } } }', token=token)
        assert "task" not in {f["name"] for f in names["__type"]["fields"]}
    body = await gql(
        CREATE_TASK, {"input": {"projectId": world["project"]["id"], "title": "x"}}, token=billing
    )
    assert unknown_field(body, "createTask", "Mutation")
    # while staff keep them, and turning it on brings them back
    assert (await gql.data(TASKS, token=tenant.admin))["tasks"]["edges"]
    await gql.data(UPDATE_SETTINGS, {"input": {"taskSharingEnabled": True}}, token=tenant.admin)
    assert (await gql.data(TASKS, token=billing))["tasks"]["edges"]
