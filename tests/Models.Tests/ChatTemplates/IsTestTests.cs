namespace Pipeline.Models.Tests.ChatTemplates;

/// <summary>`is` tests. Expected strings are what Python's jinja2 renders in transformers' environment.</summary>
public class IsTestTests
{
    [Theory]
    [InlineData("{{ none is none }} {{ 1 is number }} {{ 1.5 is number }} {{ true is number }} {{ 's' is number }} {{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }}", "True True True True False True False True")]
    [InlineData("{{ 's' is string }} {{ 1 is string }} {{ {} is mapping }} {{ msgs[0] is mapping }} {{ [] is mapping }} {{ [] is iterable }} {{ 's' is iterable }} {{ 1 is iterable }} {{ [] is sequence }} {{ 1 is sequence }}", "True False True True False True True False True False")]
    [InlineData("{{ true is boolean }} {{ 1 is boolean }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }}", "True False True False True False")]
    public void TypeTests(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 'a' is equalto 'a' }} {{ 2 is eq 2 }} {{ 2 is ne 2 }}", "True True True False True True False")]
    [InlineData("{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aBc' is lower }} {{ 1 is in [1, 2] }} {{ 2 is gt 1 }} {{ 2 is lt 1 }} {{ 2 is ge 2 }} {{ none is sameas none }}", "True True False True True False True True")]
    public void ValueTests(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ x is defined }} {{ x is undefined }} {{ d is defined }} {{ d.a is defined }} {{ d.zz is defined }} {{ d.zz is not defined }} {{ msgs[0].content is defined }} {{ msgs[0].tool_calls is defined }} {{ msgs[9] is defined }}", "False True True True False True True False False")]
    [InlineData("{% if msgs[0].tool_calls is not defined and msgs[0].role is string %}ok{% endif %}", "ok")]
    public void DefinedTests(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));
}
