from django.urls import include, path

from . import assignment_views, views

urlpatterns = [
    # The worker's hot path first: Django tries the patterns in order, and every pattern
    # (and failed include) before the match costs a regex and a list of what was tried.
    path("worker/tasks/next", assignment_views.NextTaskView.as_view(), name="worker-next"),
    path("worker/assignments/<int:assignment_id>/submit", assignment_views.SubmitView.as_view()),
    path("worker/assignments/<int:assignment_id>/heartbeat",
         assignment_views.HeartbeatView.as_view()),
    path("", include("marketplace.webhooks.urls")),
    path("projects", views.ProjectListView.as_view(), name="project-list"),
    path("projects/<int:project_id>", views.ProjectDetailView.as_view(), name="project-detail"),
    path("projects/<int:project_id>/launch", views.ProjectLaunchView.as_view()),
    path("projects/<int:project_id>/pause", views.ProjectPauseView.as_view()),
    path("projects/<int:project_id>/resume", views.ProjectResumeView.as_view()),
    path("projects/<int:project_id>/cancel", views.ProjectCancelView.as_view()),
    path("projects/<int:project_id>/items", views.ProjectItemsView.as_view(), name="project-items"),
    path("projects/<int:project_id>/gold", views.ProjectGoldView.as_view(), name="project-gold"),
    path("projects/<int:project_id>/tasks", views.ProjectTasksView.as_view(), name="project-tasks"),
    path("projects/<int:project_id>/instructions", views.ProjectInstructionsView.as_view(),
         name="project-instructions"),
    path("imports/<int:import_id>", views.ImportDetailView.as_view(), name="import-detail"),
    path("projects/<int:project_id>/assignments",
         assignment_views.ProjectAssignmentsView.as_view(), name="project-assignments"),
    path("assignments/<int:assignment_id>/approve", assignment_views.ApproveView.as_view()),
    path("assignments/<int:assignment_id>/reject", assignment_views.RejectView.as_view()),
    path("worker/availability", assignment_views.AvailabilityView.as_view(),
         name="worker-availability"),
    path("worker/assignments", assignment_views.WorkerAssignmentListView.as_view(),
         name="worker-assignments"),
    path("worker/assignments/<int:assignment_id>",
         assignment_views.WorkerAssignmentDetailView.as_view()),
    path("worker/assignments/<int:assignment_id>/return", assignment_views.ReturnView.as_view()),
]
