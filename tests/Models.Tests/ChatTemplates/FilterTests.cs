namespace Pipeline.Models.Tests.ChatTemplates;

/// <summary>Built-in filters and transformers' tojson. Expected strings are what Python's jinja2 renders in transformers' environment.</summary>
public class FilterTests
{
    [Theory]
    [InlineData("{{ '  x  '|trim }}|{{ 'xxaxx'|trim('x') }}|{{ 'Hello World'|lower }}|{{ 'hello world'|upper }}", "x|a|hello world|HELLO WORLD")]
    [InlineData("{{ 'hello wORLD-foo(bar'|title }}|{{ 'hELLO'|capitalize }}|{{ 'x'|center(5) }}|", "Hello World-Foo(Bar|Hello|  x  |")]
    [InlineData("{{ 'aaa'|replace('a', 'b') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'a-b-c' | replace('-', '+') }}", "bbb bba a+b+c")]
    [InlineData("{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(2, blank=true) }}", "a\n    b\n\n    c|  a\n  b|a\n  \n  b")]
    [InlineData("{{ 'one two, three_3'|wordcount }} {{ '<a href=\"x\">&\\''|e }} {{ '<b>'|escape }} {{ 'x'|safe }} {{ 5|string ~ 'x' }}", "3 &lt;a href=&#34;x&#34;&gt;&amp;&#39; &lt;b&gt; x 5x")]
    [InlineData("{{ '%s-%d' | format('a', 3) }} {{ '%s-%d-%05.2f-%x-%r' | format('a', 3, 3.14159, 255, 'q') }}", "a-3 a-3-03.14-ff-'q'")]
    [InlineData("[{{ 'ab'|center(9) }}] [{{ 'abc'|center(8) }}] [{{ 'ab'.center(7, '*') }}] [{{ '  x  '|trim('') }}]", "[    ab   ] [  abc   ] [***ab**] [  x  ]")]
    public void StringFilters(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ [1, 2, 3]|join('-') }} {{ ['a', 'b']|join }} {{ msgs|join(',', attribute='role') }}", "1-2-3 ab system,user,assistant")]
    [InlineData("{{ msgs|length }} {{ 'abc'|count }} {{ {'a': 1}|length }} {{ msgs|first }} {{ (msgs|last).role }} [{{ []|first }}]", "3 3 1 {'role': 'system', 'content': 'Be brief.'} assistant []")]
    [InlineData("{{ [3, 1, 2]|sort }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }} {{ [3, 1, 2]|sort(reverse=true) }} {{ [{'a': 2}, {'a': 1}]|sort(attribute='a') }}", "[1, 2, 3] ['A', 'b', 'c'] ['A', 'b', 'c'] [3, 2, 1] [{'a': 1}, {'a': 2}]")]
    [InlineData("{{ [1, 2, 2, 'a', 'A']|unique|list }} {{ [1, 2, 3]|reverse|list }} {{ 'abc'|reverse }} {{ 'ab'|list }} {{ {'a': 1}|list }}", "[1, 2, 'a'] [3, 2, 1] cba ['a', 'b'] ['a']")]
    [InlineData("{{ [3, 5, 1]|min }} {{ [3, 5, 1]|max }} {{ ['b', 'A']|min }} {{ [1, 2, 3]|sum }} {{ [{'v': 2}, {'v': 3}]|sum(attribute='v') }}", "1 5 A 6 5")]
    [InlineData("{{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ [1, 2, 3]|batch(2, 0)|list }}", "[[1, 2], [3, 4], [5]] [[1, 2], [3, 0]]")]
    [InlineData("{{ {'b': 1, 'a': 2}|items|list }} {{ {'b': 1, 'a': 2}|dictsort }} {{ {'b': 1, 'a': 2}|dictsort(by='value', reverse=true) }}", "[('b', 1), ('a', 2)] [('a', 2), ('b', 1)] [('a', 2), ('b', 1)]")]
    [InlineData("{{ ['b', 'A', 'c']|sort(attribute='n') }} {{ msgs|map(attribute='nope')|list }} {{ [msgs[0].nope, 1] }}", "['b', 'A', 'c'] [Undefined, Undefined, Undefined] [Undefined, 1]")]
    public void SequenceFilters(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ msgs|selectattr('role', 'equalto', 'user')|list|length }} {{ msgs|rejectattr('role', 'eq', 'user')|map(attribute='role')|list }}", "1 ['system', 'assistant']")]
    [InlineData("{{ [{'r': 'u', 'x': 1}, {'r': 'a'}]|selectattr('x')|list }} {{ [1, 2, 3, 4]|select('even')|list }} {{ [1, 2, 3, 4]|reject('odd')|list }} {{ [1, 2, 3]|select('greaterthan', 1)|list }}", "[{'r': 'u', 'x': 1}] [2, 4] [2, 4] [2, 3]")]
    [InlineData("{{ ['a', 'B']|map('upper')|list }} {{ [{'a': {'b': 7}}]|map(attribute='a.b')|list }} {{ [{}]|map(attribute='q', default='dq')|list }} {{ msgs|map(attribute='role')|join(',') }}", "['A', 'B'] [7] ['dq'] system,user,assistant")]
    [InlineData("{{ 'yes' if 'system' in msgs | map(attribute='role') | list else 'no' }}", "yes")]
    public void SelectAndMap(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ -3|abs }} {{ 2.567|round }} {{ 2.567|round(2) }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(method='floor') }} {{ 3|round }}", "3 3.0 2.57 2.0 4.0 3.0 2.0 3")]
    [InlineData("{{ '42'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ '3.7'|int }} {{ 3.9|int }} {{ '1.5'|float }} {{ 2|float }} {{ 'z'|float }}", "42 0 7 3 3 1.5 2.0 0.0")]
    public void NumberFilters(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ undefined_var|default('d') }} {{ none|default('d') }} [{{ ''|default('d') }}] {{ ''|default('d', true) }} {{ 0|d('z', boolean=true) }} {{ 'v'|d('x') }} {{ d.zz|default('q') }}", "d None [] d z v q")]
    public void Default(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ d|tojson }} {{ msgs[0]|tojson }} {{ [1, 1.5, true, none, 'ü']|tojson }} {{ (1, 2)|tojson }} {{ []|tojson }} {{ {}|tojson }}", "{\"a\": 1, \"b\": [1, 2]} {\"role\": \"system\", \"content\": \"Be brief.\"} [1, 1.5, true, null, \"ü\"] [1, 2] [] {}")]
    [InlineData("{{ 'é\"\\n\\t\\\\/'|tojson }} {{ '你好 😀'|tojson }} {{ 'é😀'|tojson(ensure_ascii=true) }} {{ '\\x01'|tojson }}", "\"é\\\"\\n\\t\\\\/\" \"你好 😀\" \"\\u00e9\\ud83d\\ude00\" \"\\u0001\"")]
    [InlineData("{{ {'a': [1, {'b': []}], 'c': {}}|tojson(indent=2) }}", "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ],\n  \"c\": {}\n}")]
    [InlineData("{{ msgs[:1]|tojson(indent=4) }}", "[\n    {\n        \"role\": \"system\",\n        \"content\": \"Be brief.\"\n    }\n]")]
    [InlineData("{{ {'a': 1, 'b': 2}|tojson(separators=(',', ':')) }} {{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }} {{ {1: 2}|tojson }} {{ 1.0|tojson }} {{ 1e20|tojson }}", "{\"a\":1,\"b\":2} {\"a\": 2, \"b\": 1} {\"1\": 2} 1.0 1e+20")]
    public void ToJson(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));
}
