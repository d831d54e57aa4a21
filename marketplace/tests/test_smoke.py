def test_register_create_upload_launch(api_client, db):
    response = api_client.post("/api/v1/auth/register", {
        "email": "new@acme.example", "password": "a-long-enough-password",
        "role": "requester", "organization_name": "New Co"}, format="json")
    assert response.status_code == 201, response.json()
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    me = api_client.get("/api/v1/me").json()
    assert me["organization"]["name"] == "New Co"
    from conftest import project_payload
    created = api_client.post("/api/v1/projects", project_payload(), format="json")
    assert created.status_code == 201, created.json()
    project_id = created.json()["id"]
    upload = api_client.post(f"/api/v1/projects/{project_id}/items",
                             {"items": [{"data": {"text": f"t{i}"}} for i in range(5)]},
                             format="json")
    assert upload.status_code == 201, upload.json()
    assert upload.json() == {"created": 5, "tasks_created": 3, "pii_raised": 0}
    from conftest import fund_organization
    from marketplace.models import Organization
    fund_organization(Organization.objects.get(pk=me["organization"]["id"]))
    launched = api_client.post(f"/api/v1/projects/{project_id}/launch")
    assert launched.status_code == 200, launched.json()
    assert launched.json()["status"] == "active"
