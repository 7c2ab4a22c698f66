namespace Pipeline.Models.Tests.ChatTemplates;

/// <summary>for loops, loop variables, loop filters, else, break/continue, recursion. Expected strings are what Python's jinja2 renders in transformers' environment.</summary>
public class LoopTests
{
    [Theory]
    [InlineData("{% for x in [1, 2, 3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}", "1032TrueFalse3;2121FalseFalse3;3210FalseTrue3;")]
    [InlineData("{% for x in ['a', 'b', 'c'] %}{{ loop.previtem }}-{{ x }}-{{ loop.nextitem }}|{% endfor %}", "-a-b|a-b-c|b-c-|")]
    [InlineData("{% for x in range(4) %}{{ loop.cycle('odd', 'even') }} {% endfor %}", "odd even odd even ")]
    [InlineData("{% for a in [[1, 2], [3]] %}{% for b in a %}{{ loop.index }}{% endfor %}/{{ loop.index }} {% endfor %}", "12/1 1/2 ")]
    [InlineData("{% for a in [1, 2] %}{% set outer = loop %}{% for b in [1] %}{{ outer.index }}{{ loop.index }} {% endfor %}{% endfor %}", "11 21 ")]
    [InlineData("{% for x in [1, 2] %}{{ loop }} {% endfor %}", "<LoopContext 1/2> <LoopContext 2/2> ")]
    public void LoopVariables(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{% for x in range(10) if x is odd %}{{ x }}{% if loop.last %}!{% endif %}{% endfor %}", "13579!")]
    [InlineData("{% for x in [] %}a{% else %}empty{% endfor %} {% for x in [1] if x > 5 %}a{% else %}none{% endfor %}", "empty none")]
    [InlineData("{% for m in msgs if m.role != 'system' %}{{ loop.index }}:{{ m.role }} {% endfor %}", "1:user 2:assistant ")]
    [InlineData("{% for x in [1, 2] %}{{ x }}{% continue %}{% else %}E{% endfor %} {% for x in [1, 2] %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% else %}E{% endfor %} {% for x in [1, 2] %}{% break %}{% else %}E{% endfor %}", "12E 1 E")]
    public void LoopFilterAndElse(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", "0134")]
    [InlineData("{% for x in [1, 2] %}{% for y in [1, 2, 3] %}{% if y == 2 %}{% break %}{% endif %}{{ x }}{{ y }} {% endfor %}{% endfor %}", "11 21 ")]
    public void LoopControls(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{% for k, v in {'b': 1, 'a': 2}.items() %}{{ k }}={{ v }},{% endfor %} {% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}", "b=1,a=2, xy")]
    [InlineData("{% for c in 'hi' %}[{{ c }}]{% endfor %} {% for x in undefined_thing %}x{% endfor %}|", "[h][i] |")]
    [InlineData("{% for k, v in d | items %}{{ k }}:{{ v }};{% endfor %}", "a:1;b:[1, 2];")]
    [InlineData("{% for m in msgs[::-1] %}{{ m.role }} {% endfor %}", "assistant user system ")]
    [InlineData("{% for i in range(3) %}{{ i }}{% endfor %} {{ range(1, 4)|list }} {{ range(0, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ range(0)|list }}", "012 [1, 2, 3] [0, 3, 6, 9] [5, 3, 1] []")]
    public void IteratesPythonValues(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{% set x = 1 %}{% for i in range(2) %}{% set x = x + 10 %}{{ x }} {% endfor %}{{ x }}", "11 11 1")]
    [InlineData("{% for i in range(3) %}{% if i == 0 %}{% set y = 'a' %}{% endif %}[{{ y }}]{% endfor %}", "[a][][]")]
    public void LoopScoping(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{% for item in [{'n': 1, 'c': [{'n': 2, 'c': [{'n': 3, 'c': []}]}]}] recursive %}{{ item.n }}@{{ loop.depth }}{% if item.c %}({{ loop(item.c) }}){% endif %}{% endfor %}", "1@1(2@2(3@3))")]
    public void RecursiveLoop(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));
}
