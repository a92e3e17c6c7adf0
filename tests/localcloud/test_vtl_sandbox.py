"""Mapping templates cannot reach Python: the escapes a template might try, and what still works."""

from __future__ import annotations

import inspect

import airspeed.operators
import pytest

from localcloud.apigateway import errors, vtl, vtl_sandbox

PARAMS = {"path": {"id": "7"}, "querystring": {}, "header": {"X-Y": "h"}}
BODY = '{"a": {"n": 1}, "l": [1, 2], "_id": "x1", "s": "a,b,,"}'


def render(template: str) -> str:
    return vtl.render(template, body=BODY, params=PARAMS, context={"requestId": "r-1"},
                      stage_variables={"env": "prod"}).text


@pytest.mark.parametrize("template", [
    "$util.base64Encode.__globals__",
    "$util.base64Encode.__globals__.keys()",
    "$input.__class__",
    "$input.__class__.__mro__",
    "$input.body.__class__.__subclasses__()",
    "$input.path('$.l').__class__",
    "$input.path('$.a.n').__class__",
    "$input._body",
    "$input._params",
    "$input._document()",
    "$util.__dict__",
    "$input.json.__func__.__globals__",
    "#set($f = $util.base64Encode)$f.__self__",
    "#set($f = $input.params)#set($g = $f)$g.__code__",
    "#foreach($x in $input.path('$.l'))$x.__class__#end",
    "${input.__class__}",
    "$!input.__init__",
    "#set($m = {})$m.keySet().__class__",
])
def test_python_internals_are_refused_as_a_broken_template(template):
    with pytest.raises(errors.GatewayError) as caught:
        render(template)
    assert (caught.value.status, caught.value.body) == (500, '{"message": "Internal server error"}')
    assert "may not access '_" in caught.value.reason


@pytest.mark.parametrize(("template", "expected"), [
    # str.format reads attributes itself: it is not one of Java's String methods, so not found
    ("#set($s = '{0.base64Encode.__globals__}')$s.format($util)", ""),
    ("$input.body.upper()", ""),
    ("$input.body.encode()", ""),
    ("$util.base64Encode.im_func", ""),
    ("$input.params.class", ""),
    ("$input.path('$.l').append(3)|$input.path('$.l').pop()", "|"),
    ("#set($m = {})$m.items()$m.setdefault('a', 1)", ""),
    ("#set($f = $util.base64Encode)$f.x", ""),
])
def test_python_methods_and_other_names_are_not_there(template, expected):
    assert render(template) == expected


@pytest.mark.parametrize(("template", "expected"), [
    ("$input.path('$')._id", "x1"),  # a JSON key starting with '_' is data, not an attribute
    ("$input.path('$')._missing|", "|"),
    ("$input.path('$.s').split(',').size()", "2"),  # Java drops trailing empty strings
    ("$input.path('$.s').indexOf('z')|$input.path('$.s').indexOf('b')", "-1|2"),
    ("$input.path('$.s').toUpperCase().replaceAll('(A),', '<$1>')", "<A>B,,"),
    ("$input.path('$.s').length()|$input.path('$.s').substring(0, 3)|$input.path('$.s').matches('[a-z,]+')",
     "5|a,b|true"),
    ("$input.path('$.s').startsWith('a')|$input.path('$.s').endsWith(',')|$input.path('$.s').contains('b,')",
     "true|true|true"),
    ("$input.path('$.s').trim().equals('a,b,,')|$input.path('$.s').equalsIgnoreCase('A,B,,')", "true|true"),
    ("$input.path('$.a').get('n')|$input.path('$.a').containsKey('n')|$input.path('$.a').size()", "1|true|1"),
    ("$input.path('$.l').get(1)|$input.path('$.l').contains(2)|$input.path('$.l').indexOf(9)", "2|true|-1"),
    ("#set($m = {})#set($old = $m.put('k', 'v'))$m.get('k')|$m.size()|$m.keySet()", "v|1|[k]"),
    ("#set($l = [])#set($ok = $l.add('x'))$l.size()|$l.isEmpty()", "1|false"),
    ("$input.params('id')|$input.params().header.get('X-Y')|$stageVariables.env|$context.requestId",
     "7|h|prod|r-1"),
    ("$util.base64Decode($util.base64Encode('hé'))|$util.urlEncode('a b')|$util.escapeJavaScript(\"'\")",
     "hé|a+b|\\'"),
    ("#foreach($x in $input.path('$.l'))$x.toString()$foreach.count;#end", "11;22;"),
])
def test_what_the_reference_allows_still_works(template, expected):
    assert render(template) == expected


def test_sandbox_violation_is_not_an_attribute_error():
    # airspeed swallows AttributeError as "not found": a refusal must not be mistaken for one
    assert not issubclass(vtl_sandbox.SandboxViolation, AttributeError)
    with pytest.raises(vtl_sandbox.SandboxViolation):
        vtl_sandbox.template_getattr(vtl.UtilVariable(), "__class__")


def test_airspeed_has_one_attribute_lookup_and_it_is_the_sandboxed_one():
    # The sandbox shadows the getattr of airspeed's operators module. Were airspeed to look
    # attributes up another way (operator.attrgetter, a second getattr...), this fails first.
    source = inspect.getsource(airspeed.operators)
    assert source.count("getattr(") == 1 and "attrgetter" not in source and "__getattribute__" not in source
    assert airspeed.operators.getattr is vtl_sandbox.template_getattr
