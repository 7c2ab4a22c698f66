namespace Pipeline.Models.Tests.ChatTemplates;

/// <summary>trim_blocks, lstrip_blocks, '-' and '+' modifiers, comments, the trailing newline. Expected strings are what Python's jinja2 renders in transformers' environment.</summary>
public class WhitespaceTests
{
    [Theory]
    [InlineData("  {%- if true %}\n    A\n  {% endif %}\n  {# comment #}\n  B {{ 1 }}\n{% for i in [1, 2] %}\n  - {{ i }}\n{% endfor %}\n  {%+ if true %}C{% endif %}\nD {{- '  E  ' -}}  F", "    A\n  B 1\n  - 1\n  - 2\n  CD  E  F")]
    [InlineData("x  {%- if true -%}  y  {%- endif -%}  z {# c -#}   w {#- c2 #} v", "xyz w v")]
    [InlineData("a\n{% if true %}\nb\n{% endif %}\nc\n", "a\nb\nc")]
    [InlineData("a\n\n", "a\n")]
    [InlineData("{% for m in msgs %}\n    {{ m.role }}\n{% endfor %}", "    system\n    user\n    assistant\n")]
    [InlineData("  {{ 'kept indent' }}\n  {% set x = 1 %}\n{{ x }}", "  kept indent\n1")]
    [InlineData("{%- if true %}\n    {{- 'x' }}\n{%- endif %}\n", "x")]
    [InlineData("line\r\nnext{{ 1 }}\r\n", "line\nnext1")]
    [InlineData("{% if true +%}\nkeep newline{% endif %}", "\nkeep newline")]
    public void WhitespaceControl(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));
}
