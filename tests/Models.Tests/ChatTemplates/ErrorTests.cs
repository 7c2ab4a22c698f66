using Pipeline.Models.ChatTemplates;

namespace Pipeline.Models.Tests.ChatTemplates;

public class ErrorTests
{
    [Fact]
    public void SyntaxErrorNamesItsLine()
    {
        var ex = Assert.Throws<TemplateException>(() => new JinjaTemplate("line one\n{% if x %}ok{% endif %}\n{{ 1 + }}"));
        Assert.Equal(3, ex.Line);
        Assert.True(ex.Column > 0);
        Assert.StartsWith("line 3, column ", ex.Message);
        Assert.Contains("end of print statement", ex.Message);
    }

    [Fact]
    public void UnclosedBlockNamesTheMissingTag()
    {
        var ex = Assert.Throws<TemplateException>(() => new JinjaTemplate("{% for x in y %}\n{{ x }}"));
        Assert.Contains("'endfor'", ex.Message);
        Assert.Equal(2, ex.Line);
    }

    [Theory]
    [InlineData("{{ 'unterminated }}", "unterminated string")]
    [InlineData("{% endfor %}", "unknown tag 'endfor'")]
    [InlineData("{% break %}", "'break' outside of a loop")]
    [InlineData("{% include 'x.j2' %}", "'include' is not supported")]
    [InlineData("{{ x ]}}", "unexpected ']'")]
    [InlineData("{% for x in %}{% endfor %}", "expected an expression")]
    public void SyntaxErrorsSayWhatWentWrong(string template, string message)
    {
        var ex = Assert.Throws<TemplateException>(() => new JinjaTemplate(template));
        Assert.Contains(message, ex.Message);
        Assert.Equal(1, ex.Line);
    }

    [Fact]
    public void AbsurdNestingIsASyntaxErrorNotACrash()
    {
        var deep = "{{ " + new string('(', 5000) + "1" + new string(')', 5000) + " }}";
        Assert.Contains("nesting too deep", Assert.Throws<TemplateException>(() => new JinjaTemplate(deep)).Message);
        var blocks = string.Concat(Enumerable.Repeat("{% if true %}", 5000)) + string.Concat(Enumerable.Repeat("{% endif %}", 5000));
        Assert.Contains("nesting too deep", Assert.Throws<TemplateException>(() => new JinjaTemplate(blocks)).Message);
        var nots = "{{ " + string.Concat(Enumerable.Repeat("not ", 5001)) + "false }}";
        Assert.Contains("nesting too deep", Assert.Throws<TemplateException>(() => new JinjaTemplate(nots)).Message);
        Assert.Equal("True", Jinja.Render("{{ " + string.Concat(Enumerable.Repeat("not ", 51)) + "false }}"));
        var sum = "{{ 1" + string.Concat(Enumerable.Repeat(" + 1", 5000)) + " }}";
        Assert.Contains("nesting too deep", Assert.Throws<TemplateException>(() => new JinjaTemplate(sum)).Message);
        var attrs = "{{ d" + string.Concat(Enumerable.Repeat(".a", 5000)) + " }}";
        Assert.Contains("nesting too deep", Assert.Throws<TemplateException>(() => new JinjaTemplate(attrs)).Message);
        var filters = "{{ s" + string.Concat(Enumerable.Repeat("|upper", 5000)) + " }}";
        Assert.Contains("nesting too deep", Assert.Throws<TemplateException>(() => new JinjaTemplate(filters)).Message);
        Assert.Equal("101", Jinja.Render("{{ 1" + string.Concat(Enumerable.Repeat(" + 1", 100)) + " }}"));
    }

    [Fact]
    public void RaiseExceptionMessageSurfaces()
    {
        var t = new JinjaTemplate("{% for m in msgs %}\n{% if m.role == 'assistant' %}\n{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}\n{% endif %}\n{% endfor %}");
        var ex = Assert.Throws<TemplateException>(() => t.Render(Jinja.Vars()));
        Assert.Equal("Conversation roles must alternate user/assistant/user/assistant/...", ex.Reason);
        Assert.Contains(ex.Reason, ex.Message);
        Assert.Equal(3, ex.Line);
    }

    [Fact]
    public void UnknownFilterIsNamed()
    {
        var ex = Assert.Throws<TemplateException>(() => new JinjaTemplate("ok\n{{ messages | frobnicate }}"));
        Assert.Equal("No filter named 'frobnicate'.", ex.Reason);
        Assert.Equal(2, ex.Line);
    }

    [Fact]
    public void UnknownTestIsNamed()
    {
        var ex = Assert.Throws<TemplateException>(() => new JinjaTemplate("{{ x is frobbed }}"));
        Assert.Equal("No test named 'frobbed'.", ex.Reason);
    }

    [Theory]
    [InlineData("a\nb\n{{ d.zz.yy }}", 3, "'dict object' has no attribute 'zz'")]
    [InlineData("{{ foo.bar }}", 1, "'foo' is undefined")]
    [InlineData("{{ d.zz + 1 }}", 1, "'dict object' has no attribute 'zz'")]
    [InlineData("{{ 1 + 'a' }}", 1, "unsupported operand type(s) for +: 'int' and 'str'")]
    [InlineData("{{ 'a' + 1 }}", 1, "can only concatenate str (not \"int\") to str")]
    [InlineData("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", 1, "maximum recursion depth exceeded")]
    [InlineData("{{ 'a' < 1 }}", 1, "'<' not supported between instances of 'str' and 'int'")]
    [InlineData("{{ 1 / 0 }}", 1, "division by zero")]
    [InlineData("{% for x in 5 %}{% endfor %}", 1, "'int' object is not iterable")]
    [InlineData("{% set x = [1] %}{{ x.append(2) }}", 1, "access to attribute 'append' of 'list' object is unsafe.")]
    [InlineData("{% set x = 1 %}\n{% set x.y = 2 %}", 2, "cannot assign attribute on non-namespace object")]
    [InlineData("{{ msgs | tojson }}{{ undefined_thing | tojson }}", 1, "Object of type Undefined is not JSON serializable")]
    [InlineData("{{ range(1000000) | length }}", 1, "Range too big")]
    [InlineData("{{ 2 ** 62 * 4 }}", 1, "integer overflow")]
    [InlineData("{{ 'x' * 99999999999 }}", 1, "result too large")]
    [InlineData("{{ 'x' | center(99999999999) }}", 1, "")]
    [InlineData("{{ [1, 'a'] | sort }}", 1, "'<' not supported between instances of")]
    [InlineData("{{ '%d' % 'a' }}", 1, "'str' object cannot be interpreted as an integer")]
    [InlineData("{{ 3 is divisibleby 0 }}", 1, "integer modulo by zero")]
    [InlineData("{% macro a(x, y=2) %}{{ x }}{% endmacro %}{{ a(1, 2, 3) }}", 1, "macro 'a' takes not more than 2 argument(s)")]
    [InlineData("{% macro a(x) %}{{ x }}{% endmacro %}{{ a(1, z=2) }}", 1, "macro 'a' takes no keyword argument 'z'")]
    [InlineData("{% macro a(x) %}{{ x }}{% endmacro %}{{ a(1, x=2) }}", 1, "macro 'a' got multiple values for argument 'x'")]
    [InlineData("{% macro w() %}{{ caller(1) }}{% endmacro %}{% call w() %}X{% endcall %}", 1, "macro None takes not more than 0 argument(s)")]
    public void RenderErrorsNameLineAndCause(string template, int line, string message)
    {
        var ex = Assert.Throws<TemplateException>(() => Jinja.Render(template));
        Assert.Equal(line, ex.Line);
        Assert.Contains(message, ex.Reason);
    }

    [Fact]
    public void ContinueFinalMessageNeedsAnAssistantMessageLast()
    {
        var template = new ChatTemplate("{% for m in messages %}{{ m.content }}{% endfor %}");
        var ex = Assert.Throws<TemplateException>(() => template.Render(new ChatTemplateContext
        {
            Messages = ChatTemplateApiTests.Messages("""[{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}]"""),
            ContinueFinalMessage = true,
        }));
        Assert.Contains("role 'user'", ex.Message);
        Assert.Contains("assistant", ex.Message);
    }

    [Fact]
    public void ContinueFinalMessageRejectsGenerationPrompt()
    {
        var template = new ChatTemplate("{% for m in messages %}{{ m.content }}{% endfor %}");
        var ex = Assert.Throws<TemplateException>(() => template.Render(new ChatTemplateContext
        {
            Messages = ChatTemplateApiTests.Messages("""[{"role": "assistant", "content": "a"}]"""),
            ContinueFinalMessage = true,
            AddGenerationPrompt = true,
        }));
        Assert.Contains("not compatible", ex.Message);
    }
}
