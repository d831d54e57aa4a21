from django import forms

from config.errors import ApiError
from workers.models import Domain, Skill

SELF_LEVELS = [(30, "Some experience"), (60, "Professional"), (90, "Expert")]


class LoginForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(widget=forms.PasswordInput(
        attrs={"autocomplete": "current-password"}))


class SignupForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        min_length=8, help_text="At least 8 characters, not only digits, not a common one.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class ApplicationForm(forms.Form):
    full_name = forms.CharField(max_length=200, required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "name"}))
    domains = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=False,
                                        help_text="The fields you know professionally.")
    skills = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=False,
                                       help_text="Your own claim: admins and exams verify "
                                                 "levels.")
    self_level = forms.TypedChoiceField(choices=SELF_LEVELS, coerce=int, initial=60,
                                        label="Your level in the skills you chose")
    statement = forms.CharField(max_length=10_000, widget=forms.Textarea(attrs={"rows": 5}),
                                label="About your expertise")
    credentials = forms.CharField(max_length=10_000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text="Degrees, licences, links: one per line.")
    accept_terms = forms.BooleanField(required=False,
                                      label="I accept the confidentiality terms (needed "
                                            "for confidential and personal data)")

    def __init__(self, *args, worker=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domains"].choices = list(Domain.objects.values_list("slug", "name"))
        self.fields["skills"].choices = list(
            Skill.objects.order_by("domain__name", "name").values_list("slug", "name"))

    def clean_credentials(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["credentials"].splitlines()
                if line.strip()][:50]

    def clean(self):
        data = super().clean()
        if "skills" in data and "self_level" in data:
            data["skills"] = [{"skill": slug, "level": data["self_level"]}
                              for slug in data["skills"]]
        return data


class DisputeForm(forms.Form):
    assignment_id = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    message = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
                              label="Why is the rejection wrong?")


class EraseForm(forms.Form):
    confirm = forms.CharField(label='Type "ERASE" to confirm', max_length=10)

    def clean_confirm(self) -> str:
        if self.cleaned_data["confirm"] != "ERASE":
            raise forms.ValidationError('Type ERASE in capitals to confirm.')
        return self.cleaned_data["confirm"]


def add_service_errors(form: forms.Form, exc: ApiError) -> None:
    """Show a service's refusal on the form: next to the field it names, else on top."""
    placed = False
    for key, problems in (exc.fields or {}).items():
        field = key.split(".")[0]
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)
            placed = True
    if not placed:
        form.add_error(None, str(exc.detail))
