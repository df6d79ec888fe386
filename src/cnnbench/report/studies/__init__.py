"""Per-study report sections: one module per study, each registering its builder with
:func:`cnnbench.report.doc.register_study_report` under the study's name.

Every module of this package is imported the first time a study's report is asked for
(:func:`cnnbench.report.doc.study_report`), so adding a study's figures is adding a file here::

    @register_study_report("design-patterns", title="Design patterns vs hardware", select=...)
    def build(records, ctx):  # -> list[Section]
        ...
"""
