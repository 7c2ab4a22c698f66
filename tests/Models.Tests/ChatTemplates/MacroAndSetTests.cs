namespace Pipeline.Models.Tests.ChatTemplates;

/// <summary>Macros, set (plain, tuple, block, filtered), namespace, with, filter and call blocks. Expected strings are what Python's jinja2 renders in transformers' environment.</summary>
public class MacroAndSetTests
{
    [Theory]
    [InlineData("{% macro greet(name, greeting='Hello', punct='!') %}{{ greeting }}, {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', 'Hi') }} {{ greet('X', punct='?') }} [{{ greet() }}]", "Hello, Bob! Hi, Al! Hello, X? [Hello, !]")]
    [InlineData("{% macro outer(x) %}<{{ x }}>{% endmacro %}{% set y = outer(1) %}{{ y }}{{ y|length }}", "<1>3")]
    [InlineData("{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k=4) }}", "1(2, 3){'k': 4}")]
    [InlineData("{%- macro render(m, prefix='> ') -%}{{ prefix }}{{ m.role }}={{ m.content | tojson }}{%- endmacro -%}{% for m in msgs %}{{ render(m) }}\n{% endfor %}", "> system=\"Be brief.\"\n> user=\"Hi\"\n> assistant=\"Hello!\"\n")]
    [InlineData("{% macro list_it(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) list_it([1, 2]) %}<{{ x }}>{% endcall %}", "<1><2>")]
    [InlineData("{% set g = 'G' %}{% macro uses_global() %}{{ g }}{{ s }}{% endmacro %}{{ uses_global() }}", "Gabc")]
    public void Macros(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{% set ns = namespace(count=0, found=false) %}{% for i in range(4) %}{% set ns.count = ns.count + i %}{% if i == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.count }} {{ ns.found }}", "6 True")]
    [InlineData("{% set ns = namespace(d) %}{{ ns.a }}{{ ns.b }}[{{ ns.zz }}]", "1[1, 2][]")]
    [InlineData("{% set ns = namespace(items=[]) %}{% for m in msgs %}{% set ns.items = ns.items + [m.role] %}{% endfor %}{{ ns.items }}", "['system', 'user', 'assistant']")]
    public void Namespace(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set t = (1, 'x') %}{{ t[1] }}", "12 x")]
    [InlineData("{% set block %}  inner {{ s }}  {% endset %}[{{ block }}]", "[  inner abc  ]")]
    [InlineData("{% set up | upper %}abc{% endset %}{{ up }}", "ABC")]
    [InlineData("{% if true %}{% set inside = 'kept' %}{% endif %}{{ inside }}", "kept")]
    public void Set(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{% raw %}{{ not rendered }}{% endraw %} {% filter upper %}abc {{ 'd' }}{% endfilter %}", "{{ not rendered }} ABC D")]
    [InlineData("{% with a = 5 %}{{ a }}{% endwith %}[{{ a }}]", "5[]")]
    public void OtherBlocks(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));
}
