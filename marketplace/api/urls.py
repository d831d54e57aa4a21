from django.urls import path

from . import views

urlpatterns = [
    path("projects", views.ProjectListView.as_view(), name="project-list"),
    path("projects/<int:project_id>", views.ProjectDetailView.as_view(), name="project-detail"),
    path("projects/<int:project_id>/launch", views.ProjectLaunchView.as_view()),
    path("projects/<int:project_id>/pause", views.ProjectPauseView.as_view()),
    path("projects/<int:project_id>/resume", views.ProjectResumeView.as_view()),
    path("projects/<int:project_id>/cancel", views.ProjectCancelView.as_view()),
    path("projects/<int:project_id>/items", views.ProjectItemsView.as_view(), name="project-items"),
    path("projects/<int:project_id>/gold", views.ProjectGoldView.as_view(), name="project-gold"),
    path("projects/<int:project_id>/tasks", views.ProjectTasksView.as_view(), name="project-tasks"),
    path("imports/<int:import_id>", views.ImportDetailView.as_view(), name="import-detail"),
]
