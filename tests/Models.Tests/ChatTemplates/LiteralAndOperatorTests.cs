namespace Pipeline.Models.Tests.ChatTemplates;

/// <summary>Literals, arithmetic, comparisons, boolean logic, ternaries and concatenation. Expected strings are what Python's jinja2 renders in transformers' environment.</summary>
public class LiteralAndOperatorTests
{
    [Theory]
    [InlineData("{{ 1 + 2 }} {{ 7 - 10 }} {{ 2 * 3 }} {{ 1.5 * 2 }}", "3 -3 6 3.0")]
    [InlineData("{{ 7 / 2 }} {{ 10 / 5 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7.5 // 2 }}", "3.5 2.0 3 -4 3.0")]
    [InlineData("{{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 5.5 % 2 }}", "1 2 -2 1.5")]
    [InlineData("{{ 2 ** 10 }} {{ 2 ** -1 }} {{ -2 ** 2 }} {{ 2 ** 0.5 }}", "1024 0.5 4 1.4142135623730951")]
    [InlineData("{{ true + 1 }} {{ 10 - 2.5 }} {{ -(3) }} {{ +4 }}", "2 7.5 -3 4")]
    [InlineData("{{ [1, 2] + [3] }} {{ (1, 2) + (3,) }} {{ 'ab' * 3 }} {{ 3 * 'z' }} {{ [0] * 3 }} {{ 'x' + 'y' }}", "[1, 2, 3] (1, 2, 3) ababab zzz [0, 0, 0] xy")]
    [InlineData("{{ -4.0 % 2 }} {{ 4.0 % -2 }} {{ 2 // 0.1 }} {{ -7.5 // 2 }} {{ 1 // -0.3 }} {{ -5.5 % 2 }}", "0.0 -0.0 19.0 -4.0 -4.0 0.5")]
    [InlineData("{{ 3 * [1] }} {{ '%s' % [1] }} {{ 1.5 is odd }} {{ 4.0 is even }}", "[1, 1, 1] [1] False True")]
    public void Arithmetic(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1/3 }} {{ -0.5 }} {{ 2.0 * 3 }}", "1.0 0.30000000000000004 0.3333333333333333 -0.5 6.0")]
    [InlineData("{{ 1e15 }} {{ 1e16 }} {{ 0.0001 }} {{ 0.00001 }} {{ 2.5e-10 }} {{ 1e100 }} {{ 123456789.123 }}", "1000000000000000.0 1e+16 0.0001 1e-05 2.5e-10 1e+100 123456789.123")]
    [InlineData("{{ 10 }} {{ 1_000 }} {{ 3.0 == 3 }} {{ 0.5 }}", "10 1000 True 0.5")]
    public void NumbersPrintLikePython(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ true }} {{ True }} {{ false }} {{ False }} {{ none }} {{ None }}", "True True False False None None")]
    [InlineData("[{{ undefined_thing }}]", "[]")]
    [InlineData("{{ 'a' ~ 1 ~ none ~ true ~ 1.5 ~ undefined_thing ~ [1] }}", "a1NoneTrue1.5[1]")]
    [InlineData("{{ \"a\" \"b\" }} {{ 'it\\'s' }} {{ \"\\u00e9\\x41\" }} {{ 'tab\\there' }}", "ab it's éA tab\there")]
    public void ConstantsPrintLikePython(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 <= 1 }} {{ 2 >= 3 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }}", "True False True False True True")]
    [InlineData("{{ [1, 2] == [1, 2] }} {{ (1, 2) < (1, 3) }} {{ 'abc' < 'abd' }} {{ {'a': 1} == {'a': 1} }} {{ none == none }} {{ 0 == false }}", "True True True True True True")]
    [InlineData("{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }} {{ 'z' not in 'abc' }} {{ 'role' in msgs[0] }}", "True True True True True True")]
    public void Comparisons(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ 1 and 2 }} {{ 0 and 2 }} {{ 0 or 'x' }} {{ '' or [] }} {{ none or 'd' }}", "2 0 x [] d")]
    [InlineData("{{ not 0 }} {{ not [] }} {{ not 'x' }} {{ not 1 == 2 }} {{ not (1 and 0) }}", "True True False True True")]
    [InlineData("{{ true and not false or false }} {{ (true or false) and false }} {% if d.a == 1 and (s == 'x' or s == 'abc') %}ok{% endif %}", "True False ok")]
    public void BooleanLogic(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ 'y' if 1 else 'n' }} {{ 'y' if 0 else 'n' }} [{{ 'y' if 0 }}] {{ 'a' if false else 'b' if true else 'c' }}", "y n [] b")]
    public void Ternary(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ [1, 'a', none, true, 1.5, [2], {'k': 'v'}, (1,), (1, 2)] }}", "[1, 'a', None, True, 1.5, [2], {'k': 'v'}, (1,), (1, 2)]")]
    [InlineData("{{ {'a': 1, 'b': \"it's\", 'c': 'q\"d'} }} {{ () }} {{ [] }} {{ {} }} {{ (1,) }}", "{'a': 1, 'b': \"it's\", 'c': 'q\"d'} () [] {} (1,)")]
    [InlineData("{{ 'a\\nb\\t\\\\' }}|{{ ['a\\nb', 'é', '\\x01', \"'\"] }}", "a\nb\t\\|['a\\nb', 'é', '\\x01', \"'\"]")]
    [InlineData("{{ {'ü': 'ö'} }} {{ {1: 'a', 2.5: 'b', true: 'c'} }} {{ d }} {{ msgs[1] }}", "{'ü': 'ö'} {1: 'c', 2.5: 'b'} {'a': 1, 'b': [1, 2]} {'role': 'user', 'content': 'Hi'}")]
    [InlineData("{{ 1, 2 }} {{ (d.a, s) }}", "(1, 2) (1, 'abc')")]
    public void Collections(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));
}
