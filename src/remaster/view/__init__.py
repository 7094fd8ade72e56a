"""What a producer looks at and listens to: the curves of a master (`curves`, numpy only), the plots drawn from them
(`figures`: plotly figure specs, plain data), and the self-contained HTML report of a batch or a single master
(`page`: needs plotly, from the `studio` extra, for its JavaScript). The studio (`sori studio`) draws the same
figures.
"""
