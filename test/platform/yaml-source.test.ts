import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseYamlSource } from '../../services/platform/yaml-source.ts';

const syntax = suite('parseYamlSource: a syntax error carries its position and the JSON path enclosing it');

syntax('an unterminated quote in a flow sequence item: the item, through a CloudFormation tag as its long form', () => {
  const src = parseYamlSource('Resources:\n  R:\n    Properties:\n      P: !If [c, "a, b]\n', 'f.yml', { cloudFormation: true });
  assert.equal(src.problems[0], {
    where: 'f.yml:5:1',
    message: 'Missing closing "quote',
    syntax: { position: { line: 5, column: 1 }, offset: 56, enclosing: ['Resources', 'R', 'Properties', 'P', 'Fn::If', 1] },
  });
});

syntax('an unclosed flow mapping inside a sequence: the mapping', () => {
  const src = parseYamlSource('a:\n  - x\n  - { b: 1\n', 'f.yml');
  assert.equal(src.problems.map((p) => p.syntax?.enclosing), [['a', 1]]);
});

syntax('a tab under an empty value: the empty value, although the partial tree ends before the tab', () => {
  const src = parseYamlSource('a:\n  b:\n\t  c: 1\n', 'f.yml');
  assert.equal(src.problems[0]?.syntax, { position: { line: 3, column: 1 }, offset: 8, enclosing: ['a', 'b'] });
});

syntax('nothing encloses an error in a top-level key: the empty path', () => {
  assert.equal(parseYamlSource('"abc: 1\n', 'f.yml').problems[0]?.syntax?.enclosing, []);
});

syntax('a duplicate key is not a syntax error: it has its pointer and no syntax place', () => {
  assert.equal(parseYamlSource('a: 1\na: 2\n', 'f.yml').problems, [
    { where: 'f.yml:2:1', pointer: '/a', message: 'duplicate key `a` (first at line 1); a key may appear once per mapping' },
  ]);
});

syntax.run();
