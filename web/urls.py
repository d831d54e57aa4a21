from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for it on every page that names no icon (admin, API docs).
    path("favicon.ico", RedirectView.as_view(url=static("web/favicon.svg"), permanent=True)),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("signup/", views.signup, name="signup"),
    path("apply/", views.apply, name="apply"),
    path("work/start", views.work_start, name="work-start"),
    path("work/<int:assignment_id>/", views.work, name="work"),
    path("work/<int:assignment_id>/heartbeat", views.work_heartbeat, name="work-heartbeat"),
    path("work/<int:assignment_id>/submit", views.work_submit, name="work-submit"),
    path("work/<int:assignment_id>/return", views.work_return, name="work-return"),
    path("exams/", views.exams, name="exams"),
    path("exams/<int:exam_id>/start", views.exam_start, name="exam-start"),
    path("exams/attempts/<int:attempt_id>/", views.exam_attempt, name="exam-attempt"),
    path("exams/attempts/<int:attempt_id>/submit", views.exam_submit, name="exam-submit"),
    path("my-work/", views.my_work, name="my-work"),
    path("my-work/payout-account", views.payout_account, name="payout-account"),
    path("my-work/disputes", views.dispute_open, name="dispute-open"),
    path("my-work/data-export", views.data_export, name="data-export"),
    path("my-work/erase", views.erase, name="erase"),
]
