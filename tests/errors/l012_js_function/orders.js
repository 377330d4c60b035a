// A JS model that computes its SQL with a function: not plain data, so not converted.
const table = () => 'orders';

cube('Orders', {
  sql: `SELECT * FROM ${table()}`,
  measures: {
    count: { type: 'count' },
  },
});
