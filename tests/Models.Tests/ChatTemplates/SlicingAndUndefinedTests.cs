namespace Pipeline.Models.Tests.ChatTemplates;

/// <summary>Subscripts, slices (code-point based), attribute lookup, string/dict methods and Undefined. Expected strings are what Python's jinja2 renders in transformers' environment.</summary>
public class SlicingAndUndefinedTests
{
    [Theory]
    [InlineData("{{ s[0] }} {{ s[-1] }} {{ s[1:] }} {{ s[:-1] }} {{ s[::2] }} {{ s[::-1] }} [{{ s[5:] }}] {{ s[-100:2] }} {{ s[1:1] }}|", "a c bc ab ac cba [] ab |")]
    [InlineData("{{ [1, 2, 3, 4][1:3] }} {{ [1, 2, 3, 4][::-1] }} {{ [1, 2, 3, 4][-2:] }} {{ [1, 2, 3, 4][::-2] }} {{ (1, 2, 3)[1:] }} [{{ [1, 2][5] }}]", "[2, 3] [4, 3, 2, 1] [3, 4] [4, 2] (2, 3) []")]
    [InlineData("{{ 'héllo😀x'[-2:] }} {{ 'héllo😀x'|length }} {{ 'héllo😀x'[5] }} {{ '😀ab'[::-1] }}", "😀x 7 😀 ba😀")]
    [InlineData("{{ d['a'] }}{{ d.b[1] }}{{ d.b.0 }}{{ d['b'][-1] }} {{ msgs[-1]['content'] }} {{ msgs[0].content[:4] }}", "1212 Hello! Be b")]
    public void Slicing(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ s.upper() }} {{ 'AbC'.lower() }} [{{ '  x '.strip() }}] {{ 'xxyxx'.strip('x') }} [{{ '\\n\\nab\\n'.lstrip('\\n') }}] [{{ 'ab  '.rstrip() }}]", "ABC abc [x] y [ab\n] [ab]")]
    [InlineData("{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a-b-c'.rsplit('-', 1) }} {{ 'x</think>y'.split('</think>')[-1] }}", "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c'] ['a-b', 'c'] y")]
    [InlineData("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'aXa'.replace('a', 'b') }} {{ 'hello world'.title() }} {{ 'hello'.capitalize() }}", "True True bXb Hello World Hello")]
    [InlineData("{{ '{} and {}'.format(1, 'b') }} {{ '{0}{1}{0}'.format('a', 'b') }} {{ '{name}!'.format(name='x') }} {{ '{:>5}|{:<4}|{:^5}|{:.2f}|{:05d}'.format('r', 'l', 'c', 3.14159, 42) }}", "1 and b aba x!     r|l   |  c  |3.14|00042")]
    [InlineData("{{ 'abcabc'.find('c') }} {{ 'abcabc'.count('b') }} {{ [1, 2, 1].count(1) }} {{ [1, 2].index(2) }} {{ '12'.isdigit() }} {{ 'ab'.isalpha() }}", "2 2 2 1 True True")]
    [InlineData("{{ 'a-b-c-d'.rsplit('-', 1) }} {{ 'a-b-c-d'.rsplit('-', 2) }} {{ 'a-b'.rsplit('-') }} {{ '--a--'.rsplit('--', 1) }} {{ 'abc'.rsplit('x', 1) }} {{ ' a b '.rsplit() }} {{ ' a b c '.rsplit(none, 1) }}", "['a-b-c', 'd'] ['a-b', 'c', 'd'] ['a', 'b'] ['--a', ''] ['abc'] ['a', 'b'] [' a b', 'c']")]
    [InlineData("{{ 'a\\nb\\r\\nc'.splitlines() }} {{ 'k=v=w'.partition('=') }} {{ 'abc'.partition('x') }} {{ 'Ab1'.isalnum() }} {{ '  '.isspace() }} {{ 'ABC'.isupper() }} {{ 'abc'.islower() }} {{ '42'.zfill(5) }} {{ '-4'.zfill(4) }}", "['a', 'b', 'c'] ('k', '=', 'v=w') ('abc', '', '') True True True True 00042 -004")]
    [InlineData("{{ 'prefix_x'.removeprefix('prefix_') }} {{ 'x.json'.removesuffix('.json') }} {{ 'ab'.ljust(4, '.') }}| {{ 'ab'.rjust(4) }} {{ 'aBc'.swapcase() }} {{ 'hello world'.capitalize() }} {{ 'ab'.casefold() }} {{ 'a b  c'.split(' ') }} {{ 'abcabc'.rfind('b') }}", "x x ab..|   ab AbC Hello world ab ['a', 'b', '', 'c'] 4")]
    [InlineData("{{ 'a,b'.split(',', 0) }} {{ 'a,b,c'.split(',', -1) }} {{ ' a  b c '.split(none, 1) }} {{ 'aaa'.replace('a', 'b', 0) }} {{ 'abc'.replace('', '-') }} {{ 'xyz'.count('') }}", "['a,b'] ['a', 'b', 'c'] ['a', 'b c '] aaa -a-b-c- 4")]
    [InlineData("{{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.startswith('') }} {{ 'Hello World Foo'.title() }} {{ \"they're bill's\"|title }} {{ \"they're bill's\".title() }} {{ 'x1y2'.upper() }}\n", "True True Hello World Foo They're Bill's They'Re Bill'S X1Y2")]
    public void StringMethods(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'def') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }}", "1 None def ['a', 'b'] [1, [1, 2]] [('a', 1), ('b', [1, 2])]")]
    public void DictMethods(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("[{{ d.zz }}|{{ d['zz'] }}|{{ msgs[0].nope }}|{{ undefined_thing }}]", "[|||]")]
    [InlineData("{% if d.zz %}yes{% else %}no{% endif %} {{ d.zz|length }} {% for x in d.zz %}x{% endfor %}|{{ d.zz ~ 'c' }} {{ d.zz == d.yy }} {{ d.zz is none }}", "no 0 |c True False")]
    [InlineData("{{ not d.zz }} {{ d.zz or 'fallback' }} {{ d.zz and 'x' }}|{{ 'x' in d.zz }}", "True fallback |False")]
    [InlineData("{{ x is sequence }} {{ x is iterable }} {{ x is mapping }} {{ x is string }} {{ x is number }} {{ x is none }} {{ x is callable }} {{ range is callable }} {{ d.get is callable }} {{ x is lower }} {{ none is lower }} {{ 'ABC1' is upper }}", "True True False False False False True True True False False True")]
    [InlineData("{{ x == none }} {{ x != 1 }} {{ x in [none] }} {{ none in [x] }} {{ [x]|length }} {{ x|list }} {{ x|string }}| {{ x|lower }}| {{ x|join }}| {{ x|first }}| {{ x|default }}| {{ x|tojson if false else 'skip' }}", "False True False False 1 [] | | | | | skip")]
    [InlineData("{{ x|items|list }} {{ x|map('upper')|list }} {{ x|select|list }} {{ x|sort }} {{ x|unique|list }} {{ x|reverse|list }} {{ x|trim }}| {{ x|count }}", "[] [] [] [] [] [] | 0")]
    [InlineData("{% for a in x %}a{% else %}empty{% endfor %} {% if x is not defined and not x %}nd{% endif %} {{ 'yes' if x else 'no' }}\n", "empty nd no")]
    public void Undefined(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));
}
